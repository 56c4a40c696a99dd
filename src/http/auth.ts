import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { ApiError } from '../domain/errors';
import { sha256 } from '../domain/hash';
import type { ApiKeySetting, AuthSettings } from '../settings';

/** What a request needs: everything but execute (and a cloud's edge API) is `admin`. */
export type Access = { role: 'admin' } | { role: 'execute'; appId: string } | { role: 'edge' };

/** The key a request was let in with: its name, and the apps it is limited to (null: all). */
export interface Grant {
  name: string;
  apps: ReadonlySet<string> | null;
}

interface KeyEntry {
  name: string;
  role: ApiKeySetting['role'];
  digest: Buffer;
  apps: Set<string> | null;
  perMinute: number;
  bucket: { tokens: number; at: number };
}

/** Valid keys remembered as presented, so the execute path hashes a key once, not on every call. */
const MAX_REMEMBERED_KEYS = 1024;

export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    return match ? match[1].trim() : null;
  }
  const header = headers['x-api-key'];
  return typeof header === 'string' && header ? header : null;
}

/**
 * API keys (stored as sha256 digests), roles and per-key rate limits. With no keys configured every request is
 * allowed (the server then listens on loopback only, unless `allow_anonymous` says otherwise).
 */
export class Auth {
  private readonly keys: KeyEntry[];
  private readonly remembered = new Map<string, KeyEntry>();

  constructor(
    settings: AuthSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = settings.api_keys.map((k, i) => ({
      name: k.name ?? `key-${i + 1}`,
      role: k.role,
      digest: Buffer.from(k.key_sha256 ?? sha256(k.key ?? ''), 'hex'),
      apps: k.role !== 'admin' && k.apps ? new Set(k.apps) : null,
      perMinute: k.rate_limit_per_minute ?? settings.rate_limit_per_minute,
      bucket: { tokens: k.rate_limit_per_minute ?? settings.rate_limit_per_minute, at: this.now() },
    }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /**
   * Throws 401 (no or unknown key), 403 (role or app not allowed) or 429 (over the rate); else the key let in
   * (null when no keys are configured). An admin key may do everything; an edge key only what edges do.
   */
  check(headers: IncomingHttpHeaders, access: Access): Grant | null {
    if (!this.enabled) return null;
    const presented = presentedKey(headers);
    if (!presented) {
      throw new ApiError(
        'unauthorized',
        'an API key is required: send "Authorization: Bearer <key>" (or "X-API-Key: <key>")',
      );
    }
    const key = this.find(presented);
    if (!key) throw new ApiError('unauthorized', 'the API key is not valid');
    if (key.role !== 'admin' && key.role !== access.role) {
      const may = key.role === 'edge' ? 'may only sync an edge' : 'may only execute';
      const needs = access.role === 'admin' ? 'an admin key' : `an ${access.role} key`;
      throw new ApiError('forbidden', `the key '${key.name}' ${may}; this needs ${needs}`);
    }
    if (access.role === 'execute' && key.apps && !key.apps.has(access.appId)) {
      throw new ApiError('forbidden', `the key '${key.name}' may not execute '${access.appId}'`);
    }
    this.take(key);
    return key;
  }

  /**
   * The Express side: every request that reaches this middleware needs an admin key, checked before any other
   * work. What is open is mounted above it (see http/app.ts), so access follows the route that runs.
   */
  requireAdmin(): RequestHandler {
    return (req, _res, next) => {
      this.check(req.headers, { role: 'admin' });
      next();
    };
  }

  private find(presented: string): KeyEntry | null {
    const known = this.remembered.get(presented);
    if (known) return known;
    const digest = Buffer.from(sha256(presented), 'hex');
    const key = this.keys.find((k) => crypto.timingSafeEqual(k.digest, digest)) ?? null;
    if (key) {
      if (this.remembered.size >= MAX_REMEMBERED_KEYS) this.remembered.clear();
      this.remembered.set(presented, key);
    }
    return key;
  }

  /** Token bucket: `perMinute` tokens, refilled continuously; an empty bucket answers 429 with Retry-After. */
  private take(key: KeyEntry): void {
    if (key.perMinute <= 0) return;
    const now = this.now();
    const perMs = key.perMinute / 60_000;
    const bucket = key.bucket;
    bucket.tokens = Math.min(key.perMinute, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    throw new ApiError(
      'rate_limited',
      `the key '${key.name}' is over its limit of ${key.perMinute} requests a minute; retry in ${retryAfter} s`,
      { limit_per_minute: key.perMinute, retry_after_s: retryAfter },
      { 'Retry-After': String(retryAfter) },
    );
  }
}
