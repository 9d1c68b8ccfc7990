/**
 * Upload: pick or drop a video, name it, send it with a progress bar (XMLHttpRequest: fetch
 * cannot report upload progress). Errors are said plainly: too large (checked before sending,
 * and the pod's 413), not a video (the file's type, and the pod's 415), not logged in, the
 * pod busy with other uploads (429, 503: when to try again) or its disk full (507).
 * Once sent, an upload may wait its turn to be checked: the page says so.
 * Once published, the transcoding of its smaller versions shows, a progress bar per job.
 */
import { useRef, useState } from 'preact/hooks'
import { PageTitle } from '../components/Layout'
import { TranscodeJobList, unfinished, useVideoJobs } from '../components/TranscodeJobs'
import { api } from '../lib/api'
import { boot } from '../lib/boot'
import { bytes } from '../lib/format'
import { session, setSession, useSession } from '../lib/session'
import type { OwnVideo, TranscodeJob } from '../lib/types'

const VIDEO_EXT = /\.(mp4|m4v|mov|webm|mkv|ogv|avi|mpe?g|ts|3gp)$/i

/** Why a file cannot be uploaded, before sending it; undefined if it may be. */
function checkFile(file: File, maxBytes: number): string | undefined {
  if (file.size > maxBytes) return `“${file.name}” is ${bytes(file.size)}; this pod takes videos up to ${bytes(maxBytes)}.`
  if (file.size === 0) return `“${file.name}” is empty.`
  const typed = file.type !== ''
  if ((typed && !file.type.startsWith('video/')) || (!typed && !VIDEO_EXT.test(file.name)))
    return `“${file.name}” is not a video file. Choose an MP4 or WebM video.`
  return undefined
}

/** "in about a minute", "in 20 seconds": when the pod said to try again (`Retry-After`). */
function inAbout(seconds: number | undefined): string {
  if (!seconds || !Number.isFinite(seconds)) return 'in a little while'
  if (seconds < 60) return `in about ${Math.ceil(seconds)} second${Math.ceil(seconds) === 1 ? '' : 's'}`
  const minutes = Math.ceil(seconds / 60)
  return `in about ${minutes} minute${minutes === 1 ? '' : 's'}`
}

/** The pod's error answer as a sentence for the uploader. */
function uploadError(status: number, body: { error?: { code?: string; message?: string; retryAfter?: number } } | undefined): string {
  const code = body?.error?.code
  const retry = inAbout(body?.error?.retryAfter)
  if (status === 429 || code === 'too_many_uploads')
    return `You already have as many uploads in progress as this pod takes from one person. Wait for one of them to finish, then try this one again (${retry}).`
  if (status === 503 || code === 'uploads_busy') return `The pod is busy with other people's uploads right now. Nothing was sent; try again ${retry}.`
  if (status === 507 || code === 'insufficient_storage') return "The pod's disk is full, so it cannot take this video now. Try again later, or tell the pod's admin."
  if (status === 413 || code === 'too_large') return `The video is too large for this pod (at most ${bytes(boot.pod.maxUploadBytes)}).`
  if (code === 'not_a_video') return 'This file is not a video the pod can read. Choose an MP4 or WebM video.'
  if (code === 'unsupported_format') return `The pod cannot publish this video format: ${body?.error?.message ?? 'use H.264 MP4 or VP9 WebM'}.`
  if (status === 415) return body?.error?.message ?? 'This file is not a video the pod accepts.'
  if (status === 401) return 'Your session has ended. Log in again, then retry the upload.'
  return body?.error?.message ?? `The upload failed (the pod answered ${status}).`
}

/** Sends the form with XHR and reports progress; resolves to the new video. */
function send(form: FormData, token: string, onProgress: (sent: number, total: number) => void, xhrRef: { current?: XMLHttpRequest }): Promise<OwnVideo> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhrRef.current = xhr
    xhr.open('POST', '/api/v1/videos')
    xhr.setRequestHeader('authorization', `Bearer ${token}`)
    xhr.responseType = 'json'
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0)
    xhr.onload = () => {
      if (xhr.status === 201) return resolve(xhr.response as OwnVideo)
      if (xhr.status === 401) setSession(undefined)
      reject(new Error(uploadError(xhr.status, xhr.response)))
    }
    xhr.onerror = () => reject(new Error('The connection to the pod broke during the upload. Try again.'))
    xhr.onabort = () => reject(new Error('Upload cancelled.'))
    xhr.send(form)
  })
}

type Phase = { kind: 'idle' } | { kind: 'sending'; sent: number; total: number } | { kind: 'processing' } | { kind: 'done'; video: OwnVideo }

/** The jobs of an own video as the pod says now; undefined if it could not be asked. */
async function jobsOf(id: string): Promise<TranscodeJob[] | undefined> {
  try {
    return (await api<OwnVideo>(`/api/v1/videos/${encodeURIComponent(id)}`)).transcoding ?? []
  } catch {
    return undefined
  }
}

/** The new video's transcoding: a progress bar per rendition, polled every second until each is ready or failed. */
function Transcoding({ video }: { video: OwnVideo }) {
  const jobs = useVideoJobs(video.id, video.transcoding ?? [], jobsOf)
  if (!jobs?.length) return null
  const left = jobs.filter(unfinished).length
  const failed = jobs.filter((j) => j.state === 'failed').length
  return (
    <section class="card-panel transcoding" aria-labelledby="transcoding-title">
      <h2 id="transcoding-title">Smaller versions</h2>
      <p class="muted" role="status">
        {left
          ? `The pod is making ${jobs.length === 1 ? 'a smaller version' : `${jobs.length} smaller versions`} for small screens and slow connections. The video can be watched meanwhile.`
          : failed
            ? `${failed} of ${jobs.length} could not be made; the original plays everywhere.`
            : 'Every version is ready: viewers get the one that fits their screen.'}
      </p>
      <TranscodeJobList jobs={jobs} />
    </section>
  )
}

export function Upload() {
  const s = useSession()
  const [file, setFile] = useState<File | undefined>()
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' })
  const [dragging, setDragging] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  const errorRef = useRef<HTMLParagraphElement>(null)
  const xhr = useRef<XMLHttpRequest | undefined>(undefined)

  if (!s) {
    return (
      <div class="page page-narrow">
        <PageTitle>Upload a video</PageTitle>
        <div class="card-panel">
          <p>You need an account on this pod to upload videos.</p>
          <p class="actions">
            <a class="btn btn-primary" href="/login?next=%2Fupload">
              Log in
            </a>
            {boot.pod.registrations !== 'closed' && (
              <a class="btn btn-secondary" href="/register?next=%2Fupload">
                Register
              </a>
            )}
          </p>
        </div>
      </div>
    )
  }

  const choose = (f: File | undefined) => {
    if (!f) return
    const problem = checkFile(f, boot.pod.maxUploadBytes)
    setError(problem)
    if (problem) {
      setFile(undefined)
      if (input.current) input.current.value = ''
      return
    }
    setFile(f)
    // A name to start from: the file name without its extension, tidied.
    if (!name.trim()) setName(f.name.replace(/\.[^.]+$/, '').replace(/[_.]+/g, ' ').trim().slice(0, 120))
  }

  const submit = async (e: Event) => {
    e.preventDefault()
    if (!file) {
      setError('Choose a video file first.')
      input.current?.focus()
      return
    }
    if (!name.trim()) {
      setError('Give the video a name.')
      return
    }
    const token = session()?.token
    if (!token) return
    setError(undefined)
    const form = new FormData()
    // Text fields first: the pod reads them before the (possibly huge) file streams in.
    form.append('name', name.trim())
    form.append('description', description.trim())
    form.append('file', file, file.name)
    setPhase({ kind: 'sending', sent: 0, total: file.size })
    try {
      const video = await send(
        form,
        token,
        (sent, total) => setPhase(sent >= total && total > 0 ? { kind: 'processing' } : { kind: 'sending', sent, total: total || file.size }),
        xhr,
      )
      setPhase({ kind: 'done', video })
    } catch (err) {
      setPhase({ kind: 'idle' })
      setError((err as Error).message)
      queueMicrotask(() => errorRef.current?.focus())
    }
  }

  if (phase.kind === 'done') {
    return (
      <div class="page page-narrow">
        <PageTitle>Video published</PageTitle>
        <div class="card-panel success-panel" role="status">
          <p>
            <strong>{phase.video.name}</strong> is online. Friends of this pod hear of it in a moment; viewers share it with each other as they watch.
          </p>
          <p class="actions">
            <a class="btn btn-primary" href={`/videos/${encodeURIComponent(phase.video.id)}`}>
              Watch it
            </a>
            <button
              type="button"
              class="btn btn-secondary"
              onClick={() => {
                setFile(undefined)
                setName('')
                setDescription('')
                setPhase({ kind: 'idle' })
              }}
            >
              Upload another
            </button>
          </p>
        </div>
        <Transcoding video={phase.video} />
      </div>
    )
  }

  const busy = phase.kind === 'sending' || phase.kind === 'processing'
  const percent = phase.kind === 'sending' && phase.total ? Math.floor((phase.sent / phase.total) * 100) : phase.kind === 'processing' ? 100 : 0
  return (
    <div class="page page-narrow">
      <PageTitle>Upload a video</PageTitle>
      <form class="form" onSubmit={submit} noValidate>
        <label
          class={`dropzone${dragging ? ' dropzone-over' : ''}${file ? ' dropzone-has-file' : ''}`}
          onDragEnter={(e) => {
            e.preventDefault()
            setDragging(true)
          }}
          onDragOver={(e) => {
            e.preventDefault()
            if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'
          }}
          onDragLeave={(e) => {
            if (!(e.currentTarget as Element).contains(e.relatedTarget as Node | null)) setDragging(false)
          }}
          onDrop={(e) => {
            e.preventDefault()
            setDragging(false)
            if (!busy) choose(e.dataTransfer?.files[0])
          }}
        >
          <input
            ref={input}
            id="file-input"
            class="visually-hidden"
            type="file"
            accept="video/*"
            disabled={busy}
            aria-describedby="file-help"
            onChange={(e) => choose((e.target as HTMLInputElement).files?.[0])}
          />
          <svg class="dropzone-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M12 16V4m0 0l-5 5m5-5l5 5M4 17v2a1 1 0 001 1h14a1 1 0 001-1v-2" />
          </svg>
          {file ? (
            <span class="dropzone-text">
              <strong>{file.name}</strong> <span class="muted">({bytes(file.size)})</span>
              <span class="dropzone-hint">Choose another file, or drop it here</span>
            </span>
          ) : (
            <span class="dropzone-text">
              <strong>Choose a video</strong> or drop it here
              <span class="dropzone-hint" id="file-help">
                MP4 or WebM, up to {bytes(boot.pod.maxUploadBytes)}
              </span>
            </span>
          )}
        </label>

        <div class="field">
          <label for="video-name">Name</label>
          <input id="video-name" type="text" required maxLength={120} value={name} disabled={busy} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="video-description">
            Description <span class="muted">(optional)</span>
          </label>
          <textarea
            id="video-description"
            rows={4}
            maxLength={10000}
            value={description}
            disabled={busy}
            onInput={(e) => setDescription((e.target as HTMLTextAreaElement).value)}
          />
        </div>

        {error && (
          <p class="alert alert-error" role="alert" tabIndex={-1} ref={errorRef}>
            {error}
          </p>
        )}

        {busy && (
          <div class="progress-block">
            <label for="upload-progress">
              {phase.kind === 'processing'
                ? 'Processing: checking the video, making its thumbnail and torrent… When others are uploading too, yours waits its turn here.'
                : `Uploading… ${percent}%`}
            </label>
            <progress id="upload-progress" max={100} value={phase.kind === 'processing' ? undefined : percent} aria-valuetext={`${percent}%`} />
            {phase.kind === 'sending' && (
              <p class="muted small">
                {bytes(phase.sent)} of {bytes(phase.total)}
              </p>
            )}
          </div>
        )}

        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? 'Uploading…' : 'Upload'}
          </button>
          {phase.kind === 'sending' && (
            <button type="button" class="btn btn-ghost" onClick={() => xhr.current?.abort()}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </div>
  )
}
