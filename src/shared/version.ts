/** seedpod's version, from package.json (embedded in the executable). */
import pkg from '../../package.json'

export const VERSION: string = pkg.version
