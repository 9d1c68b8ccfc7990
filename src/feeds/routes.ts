/**
 * The pod's RSS feeds (rss.ts), newest first, at most FEED_ITEMS videos each:
 *  - `/feeds/videos.xml`: this pod's own videos; `?scope=network` (or `/feeds/network.xml`):
 *    every video of the network index (this pod's and its friends');
 *  - `/feeds/u/NAME@HOST.xml`: one uploader's, NAME of the pod at HOST (`host:port` when
 *    the port is not the default), for this pod's uploaders and its friends'.
 * The home page names the first two in its head (src/pages/routes.ts). A pod that wants a
 * login before watching has no public feeds.
 */
import { Elysia, t } from 'elysia'
import { anonymousMayWatch } from '../accounts/auth'
import type { Config } from '../shared/config'
import { DomainError } from '../shared/errors'
import { rss, type Feed, type FeedVideo } from './rss'

/** How many videos a feed lists: enough for a reader polling now and then, bounded for the pod. */
export const FEED_ITEMS = 50

/** The feeds of the home page's head: title and address. */
export function homeFeeds(config: Config): { title: string; href: string }[] {
  return [
    { title: `${config.name}: videos`, href: `${config.url}/feeds/videos.xml` },
    { title: `${config.name}: videos of the network`, href: `${config.url}/feeds/network.xml` },
  ]
}

/** What the feeds read. */
export interface FeedDeps {
  fingerprint: string
  config: Config
  /** A video as the API shows it (with its renditions' and streams' URLs). */
  video(id: string): FeedVideo | undefined
  /** The ids of the newest videos of this pod (`local`) or of the network. */
  newest(scope: 'local' | 'network', count: number): string[]
  /** The ids of an uploader's newest videos; undefined when no pod of the index has that host. */
  uploader(name: string, host: string, count: number): string[] | undefined
}

/** Elysia plugin: the feeds. */
export const feedRoutes = ({ fingerprint, config, video: videoOf, newest, uploader }: FeedDeps) => {
  const answer = (feed: Omit<Feed, 'items' | 'image' | 'description'> & { description?: string }, ids: string[]) => {
    if (!anonymousMayWatch(config)) throw new DomainError('unauthenticated', 'login_required', 'this pod shows its videos to logged-in users only')
    const items = ids.flatMap((id) => {
      const video = videoOf(id)
      return video ? [{ video, link: `${config.url}/videos/${encodeURIComponent(id)}` }] : []
    })
    const xml = rss({ ...feed, description: feed.description ?? feed.title, image: `${config.url}/icon-512.png`, items })
    return new Response(xml, { headers: { 'content-type': 'application/rss+xml;charset=utf-8', 'cache-control': 'public, max-age=300', 'x-content-type-options': 'nosniff' } })
  }
  const [own, network] = homeFeeds(config) as [{ title: string; href: string }, { title: string; href: string }]
  const networkFeed = () => answer({ title: network.title, link: `${config.url}/`, self: network.href, description: `Videos of ${config.name} and of the pods it is friends with` }, newest('network', FEED_ITEMS))
  return new Elysia({ name: 'feeds', seed: fingerprint })
    .get(
      '/feeds/videos.xml',
      ({ query }) =>
        query.scope === 'network'
          ? networkFeed()
          : answer({ title: own.title, link: `${config.url}/`, self: own.href, description: `Videos uploaded to ${config.name}` }, newest('local', FEED_ITEMS)),
      { query: t.Object({ scope: t.Optional(t.Union([t.Literal('local'), t.Literal('network')])) }) },
    )
    .get('/feeds/network.xml', networkFeed)
    .get('/feeds/u/:handle', ({ params }) => {
      const m = /^([^@/]{1,64})@([A-Za-z0-9.:[\]-]{1,300})\.xml$/.exec(params.handle)
      if (!m) throw new DomainError('not_found', 'not_found', 'an uploader feed is /feeds/u/NAME@HOST.xml')
      const [, name, host] = m as unknown as [string, string, string]
      const ids = uploader(name, host, FEED_ITEMS)
      if (!ids?.length) throw new DomainError('not_found', 'not_found', `no videos of ${name}@${host}`)
      const self = `${config.url}/feeds/u/${encodeURIComponent(`${name}@${host}`)}.xml`
      return answer({ title: `${name}@${host} on ${config.name}`, link: `${config.url}/`, self, description: `Videos of ${name}@${host}` }, ids)
    })
}
