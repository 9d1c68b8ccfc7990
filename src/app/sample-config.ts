/** The commented sample configuration that `seedpod init` writes. Every key is at its default. */
export function sampleConfig(): string {
  return `# seedpod configuration (TOML). Every key below is shown at its default value.
# Any key can also be set with a SEEDPOD_* environment variable (SEEDPOD_PORT,
# SEEDPOD_DATA_DIR, SEEDPOD_RETRY_BASE_MS, ...) or a flag of \`seedpod serve\`;
# flags win over the environment, which wins over this file.

# The pod's name, shown to friends and on its pages.
name = "seedpod"

# The public URL of this pod, as browsers and other pods reach it (behind a reverse proxy:
# the proxy's https:// URL). Defaults to http://localhost:PORT.
# url = "https://videos.example.org"

# Address and port to listen on.
host = "0.0.0.0"
port = 9000

# Where the database, keys and videos live. Back up the keys/ folder: it is the pod's identity.
dataDir = "./data"

# "open" lets anyone register; "approval" too, but each account waits for an admin to accept
# it (admin page); "closed" means accounts are made with \`seedpod user add\`.
registrations = "closed"

# Refuse a friend revoked for unreliability until an admin lifts it.
blacklistRevoked = true

# Largest video upload, in bytes (4 GiB).
maxUploadBytes = 4294967296

# Largest pod-to-pod message the inbox accepts from a friend, in bytes (4 MiB).
maxMessageBytes = 4194304

# Ask visitors to log in before they can watch.
requireLoginToWatch = false

# Take client addresses from X-Forwarded-For (only behind a reverse proxy you run).
trustProxy = false

# TCP port where the pod seeds its videos to BitTorrent clients; 0 picks a free port at
# each start (the tracker tells peers which). Fix it to open it in a firewall.
torrentPort = 0

# How long the details of a friend's video (full description, tags, license, views), fetched
# from its origin pod, are served from this pod's cache before the origin is asked again, in
# seconds; 0 asks every time. While the origin is down the cached copy is served anyway.
detailsTtlSeconds = 3600

# Friends: the pods to ask when making friends at first start (their friends join too, see
# README), and who may befriend this pod. admission: "open" (any pod that proves its URL,
# within the limits below), "approval" (an admin accepts each request on the admin page) or
# "closed" (no new friends).
[friends]
pods = []
admission = "open"
requestsPerHour = 20              # friend requests taken per source address per hour
maxFriends = 200
maxVideosPerFriend = 100000       # videos of one friend kept in the index
messagesPerMinute = 600           # payloads the inbox takes per minute from one friend ...
messagesPerMinutePerAddress = 1200  # ... and from one address (429 beyond)

# How the inbox reads what other pods send, before it decrypts anything: a pod that is not a
# friend may send at most strangerMessageBytes (a friend request); a body has bodyTimeoutMs to
# arrive whole (408); and bodies hold at most bytesInFlightPerAddress bytes for one address
# (IPv6: its /64; 429 beyond) and bytesInFlight in all (503 beyond).
[inbox]
strangerMessageBytes = 32768
bodyTimeoutMs = 30000
bytesInFlightPerAddress = 16777216
bytesInFlight = 67108864

# The tracker's fairness: a swarm keeps at most peersPerAddress peers of one address (IPv6:
# its /64), and takes announcesPerMinute announces from one address (429 beyond).
[tracker]
peersPerAddress = 32
announcesPerMinute = 300

# What the pod fetches from other pods. By default never a loopback, private, link-local
# or unique-local address, even where a friend's name resolves to one: set
# allowPrivateAddresses = true only for pods on one machine or a LAN you run.
[network]
allowPrivateAddresses = false
fetchTimeoutMs = 10000

[log]
level = "info"     # debug, info, warn, error
format = "auto"    # auto (pretty on a terminal, JSON lines otherwise), pretty, json

# Failed deliveries to a friend are retried \`retries\` times, waiting baseMs * factor^n
# (n = 0, 1, ...): about 16 hours in all with these defaults.
[retry]
baseMs = 2000
factor = 3
retries = 10

# Redundancy: keep copies of friends' videos, seed them and serve their web seeds, so they
# still play when their origin pod is down. Copies are dropped, files and all, beyond the
# budget, when the origin removes the video, or when the friendship ends.
# strategy: "recent" (newest videos first) or "smallest" (most videos per byte).
# Whatever enabled says, a copy another pod announces is given to viewers only once this pod
# has fetched checkPieces random pieces of it and found them to be the torrent's, and is
# checked again every recheckSeconds (a failed check unlists it); at most checkBytesPerHour
# are fetched from one pod per hour for these checks.
[redundancy]
enabled = false
budgetBytes = 10737418240
strategy = "recent"
checkPieces = 3
recheckSeconds = 21600
checkBytesPerHour = 67108864

# Each upload is also transcoded to these heights (H.264/AAC MP4), never above the source's,
# one ffmpeg job at a time by default. Viewers pick the one that fits their screen.
# Remote runners (\`seedpod runner\`, see README) can do the work on other machines: while one
# has been in contact within leaseMs, a job waits runnerWaitMs for a runner before this pod
# takes it itself; local = false leaves every job to runners. A runner that stops reporting
# for leaseMs loses its job to another runner (or to this pod).
[transcoding]
enabled = true
concurrency = 1
resolutions = [240, 480, 720]
local = true
runnerWaitMs = 10000
leaseMs = 60000

# What an upload may be before the pod does any work on it (415 beyond): pixels per frame
# (4096x4096), frames per second, streams (tracks) per file, duration, and bytes per second of
# duration (a file of a few KB that claims hours is a trap, not a video). Each ffprobe and
# ffmpeg run gets at most toolMemoryBytes of memory and toolCpuSeconds of CPU time, plus
# cpuSecondsPerVideoSecond for each second of video it goes through (transcoding, remuxing);
# enforced with prlimit (util-linux; without it the pod warns at start and runs them unbounded).
[media]
maxPixels = 16777216
maxFrameRate = 120
maxStreams = 16
maxDurationSeconds = 43200
minBytesPerSecond = 2000
toolMemoryBytes = 1073741824
toolCpuSeconds = 60
cpuSecondsPerVideoSecond = 10

# Uploads prepared at once (ffprobe and ffmpeg: about two processes each), uploads a user may
# have in flight (more get 429 with Retry-After), and uploads that may wait beyond those being
# prepared (more get 503 with Retry-After). An admitted upload waits for its turn.
[uploads]
concurrency = 2
perUser = 2
queueLength = 16

# Free space kept on the data folder's disk (1 GiB): an upload that would leave less is refused
# (507) before a byte is written and stopped if the disk fills as it comes; transcodings wait
# and copies of friends' videos stop until space is freed.
[disk]
minFreeBytes = 1073741824

# Queued messages for a friend go in batches of at most this many per request.
[delivery]
batchMessages = 500

# STUN/TURN servers the viewers' browsers use to connect to each other over WebRTC, e.g.
# ["stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp"]. None by default:
# nothing leaves the network of pods, and viewers on the same network (or with public
# addresses) still connect; viewers behind NAT need a STUN server to find each other.
[webrtc]
iceServers = []

# The watch page's player: it fetches up to \`bufferSeconds\` of video ahead of what plays
# (from other viewers and web seeds), and keeps up to \`cacheBytes\` of what it fetched in the
# tab's memory, to share with other viewers while the tab is open.
[player]
bufferSeconds = 30
cacheBytes = 67108864

# A friend's reliability: starts at \`initial\`, +step per delivered request, -step per
# failed attempt, capped at \`max\`. At 0 the friend is revoked.
[score]
initial = 100
step = 10
max = 1000

# Where the pod keeps its files (videos, renditions, playlists, thumbnails, torrents, copies
# of friends' videos): "local" (the data folder) or "s3" (a bucket of an S3-compatible service:
# AWS, Ceph RGW, MinIO, Garage, Backblaze B2, Wasabi). Uploads are processed in the data
# folder's tmp/, then put into the bucket; viewers fetch the bytes from the bucket: from
# publicBaseUrl (objects are public-read; the bucket's own URL or a CDN's) or, without it,
# from presigned URLs valid presignSeconds. The credentials may also come from
# SEEDPOD_STORAGE_ACCESS_KEY_ID / SEEDPOD_STORAGE_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY (and AWS_REGION, AWS_ENDPOINT_URL); they are never logged.
# \`seedpod storage migrate --to s3|local\` moves an existing pod's files.
[storage]
kind = "local"
# endpoint = "https://s3.eu-central-1.amazonaws.com"
region = "us-east-1"
bucket = ""
prefix = ""               # e.g. "pods/mine/": keys of this pod start with it
accessKeyId = ""
secretAccessKey = ""
# publicBaseUrl = "https://videos-cdn.example.org"
presignSeconds = 21600    # 6 hours (1 hour to 604800 s, 7 days); a viewing must fit in half of it
partSizeBytes = 16777216  # multipart uploads in parts of 16 MiB
requestTimeoutMs = 30000  # a bucket request (an upload: each part) unanswered this long fails (503)

# GET /metrics, in Prometheus's text format: off while both keys are empty. With \`token\` (16
# characters at least, e.g. from \`openssl rand -hex 32\`), on the pod's port for whoever sends
# "Authorization: Bearer TOKEN"; with \`listen\` ("127.0.0.1:9100"), on that address instead
# (behind the token too if there is one), out of reach of the pod's visitors.
[metrics]
token = ""
listen = ""

[auth]
tokenTtlSeconds = 900     # lifetime of a login token
loginAttempts = 10        # failed logins allowed per address and per user name ...
loginWindowSeconds = 600  # ... in this many seconds, then 429
registrationsPerAddress = 5       # accounts registered from one address (IPv6: its /64) ...
registrationWindowSeconds = 86400 # ... in this many seconds, then 429
`
}
