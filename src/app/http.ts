/**
 * The pod's HTTP app: every feature's routes behind one error shape, each given the
 * services it uses and the auth macros.
 */
import { Elysia } from 'elysia'
import { auth } from '../accounts/auth'
import { users } from '../accounts/routes'
import { detailsRoutes } from '../details/routes'
import { feedRoutes } from '../feeds/routes'
import { inboxRoutes } from '../federation/routes'
import { friendRoutes } from '../friends/routes'
import { podDocument } from '../identity/document'
import { podInfo } from '../identity/routes'
import { pageRoutes } from '../pages/routes'
import { makeSite } from '../pages/shell'
import { redundancyRoutes } from '../redundancy/routes'
import { runnerRoutes } from '../runners/routes'
import { torrentRoutes } from '../torrents/routes'
import { trackerRoutes } from '../torrents/tracker-routes'
import { transcodingRoutes } from '../transcoding/routes'
import { playlistRoutes } from '../videos/playlist-routes'
import { streamHead } from '../videos/served-streams'
import { thumbnailRoutes, videoRoutes } from '../videos/routes'
import { newestOfUploader, podOfHost } from '../videos/uploader-videos'
import { BytesInFlight } from '../shared/bytes-in-flight'
import { domainErrorResponse, errorResponse } from '../shared/error-response'
import { errors } from './errors'
import { metricsRoute, routeLabels } from '../metrics/routes'
import { storageRoutes } from './storage-routes'
import { checkBody } from './limits'
import type { Pod } from './pod'

/** Builds the Elysia app of one pod (not listening yet: tests call `app.handle`). */
export function buildApp(pod: Pod) {
  const { config, log, identity, media, accounts, loginLimiter, inbox, friends, making, videos, transcoding, runners, redundancy, details, served, version } = pod
  const fingerprint = identity.fingerprint
  const macros = auth(accounts, config, fingerprint)
  const site = makeSite(config, version, log, async (id, rendition, seconds) => {
    const file = served.streams(id)?.file(rendition)
    return file && streamHead(videos.files.storage, file, seconds)
  })
  // A video of the index as a viewer sees it (the pages, the feeds).
  const viewable = (id: string) => {
    const video = videos.get(id)
    return video && videos.own.forViewers(video)
  }
  // Elysia's router by default skips 11 characters of the URL (`http://a.bc`) before looking
  // for the path: with a Host of 1 to 3 characters it skipped into the path, so no route
  // matched, and `/xx/api/...` reached `/api/...`. The pod serves plain HTTP only, so its
  // URLs start with `http://` (7 characters) and the host comes after.
  return new Elysia({ handler: { standardHostname: false } })
    // Before the error plugin: its hooks must see each request first (src/metrics/routes.ts).
    .use(routeLabels(pod.metrics.routes))
    .use(errors(log, site))
    // Every body is bounded by its route's limit before it is read (limits.ts).
    .onRequest(({ request }) => {
      // An empty or invalid Host leaves Bun's request.url unparsable (routing and every `new URL` then fail): RFC 9112's 400.
      if (!URL.canParse(request.url)) return errorResponse(400, 'bad_request', 'the Host header is missing or not a host')
      const refused = checkBody(config, request)
      if (refused) return domainErrorResponse(refused)
    })
    .use(
      podInfo({
        fingerprint,
        document: podDocument(config, identity, version),
        health: () => {
          pod.db.query('SELECT 1').get()
          return { version, uptimeSeconds: Math.round((Date.now() - pod.startedAt) / 1000), actors: pod.actors.getSnapshot().status, media: media.health() }
        },
      }),
    )
    .use(metricsRoute({ fingerprint, config, render: () => pod.metrics.render() }))
    .use(users({ fingerprint, config, accounts, loginLimiter, log, auth: macros }))
    .use(
      inboxRoutes({
        fingerprint,
        inbox,
        limits: {
          fingerprint,
          maxBytes: config.maxMessageBytes,
          strangerBytes: config.inbox.strangerMessageBytes,
          timeoutMs: config.inbox.bodyTimeoutMs,
          isFriend: (sender) => friends.store.urlOf(sender) !== undefined,
          budget: new BytesInFlight(config.inbox.bytesInFlightPerAddress, config.inbox.bytesInFlight),
        },
        trustProxy: config.trustProxy,
        log,
      }),
    )
    .use(friendRoutes({ fingerprint, friends, making, auth: macros }))
    .use(redundancyRoutes({ fingerprint, redundancy, auth: macros }))
    .use(storageRoutes({ fingerprint, storage: videos.files.storage, moves: videos.files.moves, auth: macros }))
    .use(transcodingRoutes({ fingerprint, transcoding, auth: macros }))
    .use(runnerRoutes({ fingerprint, runners, auth: macros }))
    .use(videoRoutes({ config, fingerprint, videos, media, auth: macros }))
    .use(detailsRoutes({ fingerprint, details, auth: macros }))
    .use(thumbnailRoutes({ fingerprint, videos, auth: macros }))
    .use(playlistRoutes({ fingerprint, storage: videos.files.storage, streams: (id) => served.streams(id) }))
    .use(
      torrentRoutes({
        fingerprint,
        // An own file, or this pod's copy of a friend's video (redundancy).
        file: (id, resolution) => served.file(id, resolution),
        byInfoHash: (infoHash) => served.byInfoHash(infoHash),
        trustedTorrent: (infoHash) => redundancy.known.trustedTorrent(infoHash),
        storage: videos.files.storage,
      }),
    )
    .use(trackerRoutes(pod.tracker))
    .use(pageRoutes({ fingerprint, site, log, video: viewable }))
    .use(
      feedRoutes({
        fingerprint,
        config,
        video: viewable,
        newest: (scope, count) => videos.search({ scope, sort: '-createdAt', count }).data.map((v) => v.id),
        uploader: (name, host, count) => {
          const origin = podOfHost(pod.db, host)
          return origin && newestOfUploader(pod.db, name, origin.id, count)
        },
      }),
    )
}
