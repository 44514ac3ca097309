/**
 * The outside anchor: a local nginx in front of the same fake upstream, with an upstream keepalive pool,
 * as the reference for what a mature reverse proxy achieves on this machine. Started with a generated
 * config in a temporary prefix, stopped afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { portForChild } from '../shared/ports.ts'
import { QccLabError } from '../shared/errors.ts'

/** The nginx executable on PATH, if any. */
export function nginxBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue
    const candidate = path.join(dir, 'nginx')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch { /* not here */ }
  }
  return undefined
}

export const nginxInstallHint = 'nginx is not on PATH. Install it (Debian/Ubuntu: `apt-get install nginx`), or run the bench without --anchor.'

export function nginxConfig(prefix: string, listenPort: number, upstreamUrl: string): string {
  const u = new URL(upstreamUrl)
  return `worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${path.join(prefix, 'body')};
  proxy_temp_path ${path.join(prefix, 'proxy')};
  fastcgi_temp_path ${path.join(prefix, 'fastcgi')};
  uwsgi_temp_path ${path.join(prefix, 'uwsgi')};
  scgi_temp_path ${path.join(prefix, 'scgi')};
  upstream fake { server ${u.hostname}:${u.port}; keepalive 128; }
  server {
    listen 127.0.0.1:${listenPort};
    keepalive_timeout 65s;
    location / {
      proxy_pass ${u.protocol}//fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_ssl_verify off;
      proxy_ssl_session_reuse on;
    }
  }
}
`
}

export interface Nginx {
  readonly url: string
  /** CPU used so far by the master and its workers (µs), from /proc; undefined where there is no /proc. */
  cpuMicros(): number | undefined
  close(): Promise<void>
}

/** utime + stime of `pid` and its children (nginx forks its workers), from Linux's /proc, in µs. */
export function procCpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const ticksPerSecond = 100 // USER_HZ: 100 on every Linux ABI Node supports
    // nginx forks its workers: without the kernel's children file the workers cannot be found, and the
    // master alone would read as an idle nginx.
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    let ticks = 0
    for (const p of [pid, ...children]) {
      // After the command in parentheses (which may itself hold ") "): state is field 3, utime 14, stime 15.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    }
    return (ticks / ticksPerSecond) * 1e6
  } catch {
    return undefined
  }
}

/** `commandPrefix`: e.g. `taskset -c 1`, to start nginx pinned (see placement.ts). */
export async function startNginx(upstreamUrl: string, commandPrefix: readonly string[] = []): Promise<Nginx> {
  const bin = nginxBinary()
  if (!bin) throw new QccLabError('NO_NGINX', nginxInstallHint)
  const prefix = mkdtempSync(path.join(tmpdir(), 'qcc-lab-nginx-'))
  const port = await portForChild()
  const conf = path.join(prefix, 'nginx.conf')
  writeFileSync(conf, nginxConfig(prefix, port, upstreamUrl))
  const argv = [...commandPrefix, bin, '-p', prefix, '-c', conf]
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' })
  let exited = false
  child.once('exit', () => { exited = true })
  const deadline = Date.now() + 10_000
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (up) break
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL')
      rmSync(prefix, { recursive: true, force: true })
      throw new QccLabError('NGINX_FAILED', `Failed to start nginx (${exited ? 'it exited' : 'no port after 10 s'}); config was ${conf}.`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url: `http://127.0.0.1:${port}`,
    cpuMicros: () => procCpuMicros(child.pid),
    async close() {
      if (!exited) {
        const done = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGQUIT')
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await done
        clearTimeout(t)
      }
      rmSync(prefix, { recursive: true, force: true })
    },
  }
}
