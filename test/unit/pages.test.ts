/** The boot JSON of the pages' HTML shell (src/pages/shell.ts), kept inside its element. */
import { describe, expect, test } from 'bun:test'
import { scriptJson } from '../../src/pages/shell'

describe('page shell', () => {
  test('scriptJson keeps any text inside its <script> element', () => {
    const tricky = { s: '</script><!-- \u2028\u2029' }
    const out = scriptJson(tricky)
    expect(out).not.toContain('<')
    expect(out).not.toContain('\u2028')
    expect(JSON.parse(out)).toEqual(tricky)
  })
})
