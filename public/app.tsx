/**
 * The browser app of a pod (bundled by Bun, see src/pages/bundle.ts): this entry point, and
 * the app itself (main.tsx) in a chunk of its own.
 *
 * A watch page's HTML may carry a quick start (player/quick.ts): the browser plays the
 * video's first seconds while it loads the page. The app's code is loaded and run once that
 * first frame is shown, which running it would otherwise hold up; elsewhere, at once (the
 * page's HTML preloads it).
 */
import './styles/index.css'
import { debug } from './player/debug'
import { quickStartShown } from './player/quick'

debug('app start')
quickStartShown().then(() => import('./main'))
