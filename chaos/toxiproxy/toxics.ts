// Toxics: the faults a Toxiproxy proxy applies to the bytes of one direction of one connection
// (lesson 3, network splits; lesson 9, capacity planning: slow links and small pipes).
//
// Every toxic is one class behind one interface, `ToxicStage`: it receives chunks from the
// stage before it and hands chunks on through its `ToxicContext`. A stage lives as long as the
// toxic is on the connection; it is created when the connection opens (or when the toxic is
// added to a running connection) and removed when the toxic is removed. Each kind also carries
// its attribute table, so validation, defaults and merging on update are one generic routine.
//
// Semantics follow Toxiproxy 2.x (Shopify/toxiproxy, toxics/*.go), written anew for an
// event loop instead of goroutines and channels:
//   latency     latency ± jitter ms added to every chunk, order kept
//   bandwidth   rate KB/s (1 KB = 1000 bytes, as upstream); 0 holds every byte (a stall)
//   slow_close  delay ms between the source closing and the close being passed on
//   timeout     drops every byte; closes the connection after timeout ms (0: never, a
//               blackhole); removing it closes the connection, as upstream's Cleanup does
//   reset_peer  on the first bytes, waits timeout ms, then resets (TCP RST) the connection
//   slicer      cuts chunks into slices of average_size ± size_variation bytes, delay µs apart
//   limit_data  passes `bytes` bytes, then closes the connection

/** A direction of a connection: "upstream" is client -> server, "downstream" server -> client. */
export type StreamDirection = "upstream" | "downstream";

export const streamDirections: readonly StreamDirection[] = ["upstream", "downstream"];

/** Attributes of a toxic: every attribute is an integer in a unit named by the kind's table. */
export type ToxicAttributes = Readonly<Record<string, number>>;

/** What a stage may do to the connection it sits on. */
export interface ToxicContext {
  /** Hands a chunk to the next stage (or to the destination socket). */
  emit(chunk: Buffer): void;
  /** Passes the end of this direction on, after every chunk emitted so far. */
  end(): void;
  /** Closes the whole connection after every chunk emitted so far (upstream's stub.Close). */
  close(): void;
  /** Resets the whole connection with a TCP RST at once, dropping what is queued. */
  reset(): void;
}

/** One toxic on one direction of one connection. */
export interface ToxicStage {
  /** A chunk arrives from the previous stage. */
  write(chunk: Buffer): void;
  /** The previous stage has ended: no more chunks will arrive. */
  end(): void;
  /** New attributes (already validated and merged) take effect on this running stage. */
  update(attributes: ToxicAttributes): void;
  /** The toxic leaves the connection: hand pending chunks (and a pending end) on, stop timers. */
  remove(): void;
  /** Bytes held inside the stage: the link pauses its source when the sum grows too large. */
  pendingBytes(): number;
}

/** How to check one attribute. */
interface AttributeRule {
  readonly name: string;
  readonly unit: string;
  readonly min: number;
  readonly max: number;
}

/** A toxic kind: its attribute table, a check across attributes, and its stage. */
export interface ToxicKind {
  readonly type: string;
  readonly rules: readonly AttributeRule[];
  /** A check across attributes; returns an error message or undefined. */
  readonly crossCheck?: (attributes: ToxicAttributes) => string | undefined;
  readonly createStage: (context: ToxicContext, attributes: ToxicAttributes) => ToxicStage;
}

const hourMs = 3_600_000;
const latencyMsMax = hourMs;
const rateKilobytesPerSecondMax = 10_000_000;
const sliceBytesMax = 1_048_576;
const slicerDelayMicrosecondsMax = 10_000_000;

/** Thrown for attributes that break a rule; the message is the whole user-facing sentence. */
export class ToxicAttributeError extends Error {
  override readonly name = "ToxicAttributeError";
}

/**
 * Validates `incoming` merged over `current` (an update changes only the attributes it names,
 * as upstream decodes JSON into a copy of the toxic) and returns every attribute of the kind.
 * Unknown attribute names are ignored, as Go's JSON decoder ignores unknown fields.
 */
export function parseAttributes(
  kind: ToxicKind,
  incoming: unknown,
  current: ToxicAttributes | undefined,
): ToxicAttributes {
  if (
    incoming !== undefined &&
    incoming !== null &&
    (typeof incoming !== "object" || Array.isArray(incoming))
  ) {
    throw new ToxicAttributeError(
      `Expected \`attributes\` to be an object, got ${JSON.stringify(incoming)}`,
    );
  }
  const given = (incoming ?? {}) as Record<string, unknown>;
  const result: Record<string, number> = {};
  for (const rule of kind.rules) {
    const value = rule.name in given ? given[rule.name] : (current?.[rule.name] ?? 0);
    if (
      typeof value !== "number" ||
      !Number.isInteger(value) ||
      value < rule.min ||
      value > rule.max
    ) {
      throw new ToxicAttributeError(
        `Expected \`${rule.name}\` of ${kind.type} to be an integer from ${rule.min} to ${rule.max} ` +
          `(${rule.unit}), got ${JSON.stringify(value)}`,
      );
    }
    result[rule.name] = value;
  }
  const crossError = kind.crossCheck?.(result);
  if (crossError !== undefined) throw new ToxicAttributeError(crossError);
  return result;
}

function attribute(attributes: ToxicAttributes, name: string): number {
  const value = attributes[name];
  if (value === undefined) throw new Error(`Toxic attribute ${name} is missing after validation`);
  return value;
}

function nowMs(): number {
  return performance.now();
}

/** Data queued with the time it may leave; shared by the toxics that hold chunks back. */
interface HeldChunk {
  chunk: Buffer;
  releaseAtMs: number;
}

/**
 * Holds chunks until their release time and emits them in order. One timer for the head of
 * the queue only: a busy link schedules one timeout at a time, not one per chunk.
 */
class ReleaseQueue {
  private readonly held: HeldChunk[] = [];
  private heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private ending = false;

  constructor(private readonly context: ToxicContext) {}

  push(chunk: Buffer, releaseAtMs: number): void {
    this.held.push({ chunk, releaseAtMs });
    this.heldBytes += chunk.length;
    this.arm();
  }

  lastReleaseAtMs(): number {
    return this.held.at(-1)?.releaseAtMs ?? 0;
  }

  end(): void {
    this.ending = true;
    if (this.held.length === 0) this.context.end();
  }

  pendingBytes(): number {
    return this.heldBytes;
  }

  /** Emits everything now (the toxic is leaving) and passes on a pending end. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const held of this.held.splice(0)) this.context.emit(held.chunk);
    this.heldBytes = 0;
    if (this.ending) this.context.end();
  }

  private arm(): void {
    const head = this.held[0];
    if (this.timer !== undefined || head === undefined) return;
    // Node's timers may fire up to a millisecond early against performance.now(): release()
    // checks the clock and re-arms for the remainder, so no chunk ever leaves early.
    const waitMs = Math.max(0, Math.ceil(head.releaseAtMs - nowMs()));
    this.timer = setTimeout(() => this.release(), waitMs);
  }

  private release(): void {
    this.timer = undefined;
    const now = nowMs();
    while (this.held.length > 0 && this.held[0]!.releaseAtMs <= now) {
      const held = this.held.shift()!;
      this.heldBytes -= held.chunk.length;
      this.context.emit(held.chunk);
    }
    if (this.held.length === 0) {
      if (this.ending) this.context.end();
      return;
    }
    this.arm();
  }
}

/** A stage that changes nothing: a toxic whose toxicity roll lost for this connection. */
export class PassThroughStage implements ToxicStage {
  constructor(private readonly context: ToxicContext) {}
  write(chunk: Buffer): void {
    this.context.emit(chunk);
  }
  end(): void {
    this.context.end();
  }
  update(): void {}
  remove(): void {}
  pendingBytes(): number {
    return 0;
  }
}

/** latency: every chunk leaves latency ± jitter ms after it arrived, never before the one ahead. */
export class LatencyToxic implements ToxicStage {
  static readonly kind: ToxicKind = {
    type: "latency",
    rules: [
      { name: "latency", unit: "milliseconds", min: 0, max: latencyMsMax },
      { name: "jitter", unit: "milliseconds", min: 0, max: latencyMsMax },
    ],
    createStage: (context, attributes) => new LatencyToxic(context, attributes),
  };
  private readonly queue: ReleaseQueue;

  constructor(
    context: ToxicContext,
    private attributes: ToxicAttributes,
  ) {
    this.queue = new ReleaseQueue(context);
  }

  write(chunk: Buffer): void {
    const latencyMs = attribute(this.attributes, "latency");
    const jitterMs = attribute(this.attributes, "jitter");
    const delayMs = Math.max(
      0,
      latencyMs + (jitterMs > 0 ? Math.random() * 2 * jitterMs - jitterMs : 0),
    );
    // TCP is a byte stream: a chunk with a short jitter may not overtake the chunk before it.
    this.queue.push(chunk, Math.max(nowMs() + delayMs, this.queue.lastReleaseAtMs()));
  }
  end(): void {
    this.queue.end();
  }
  update(attributes: ToxicAttributes): void {
    this.attributes = attributes;
  }
  remove(): void {
    this.queue.flush();
  }
  pendingBytes(): number {
    return this.queue.pendingBytes();
  }
}

/** bandwidth: at most `rate` KB/s leave; large chunks leave in 100 ms pieces, as upstream. */
export class BandwidthToxic implements ToxicStage {
  static readonly kind: ToxicKind = {
    type: "bandwidth",
    rules: [{ name: "rate", unit: "KB/s", min: 0, max: rateKilobytesPerSecondMax }],
    createStage: (context, attributes) => new BandwidthToxic(context, attributes),
  };
  private readonly queue: ReleaseQueue;
  /** Chunks not yet given a release time: with rate 0 everything waits here. */
  private readonly waiting: Buffer[] = [];
  private waitingBytes = 0;
  private ending = false;

  constructor(
    context: ToxicContext,
    private attributes: ToxicAttributes,
  ) {
    this.queue = new ReleaseQueue(context);
  }

  write(chunk: Buffer): void {
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
    this.schedule();
  }
  end(): void {
    this.ending = true;
    this.schedule();
  }
  update(attributes: ToxicAttributes): void {
    this.attributes = attributes;
    this.schedule();
  }
  remove(): void {
    for (const chunk of this.waiting.splice(0)) this.queue.push(chunk, 0);
    this.waitingBytes = 0;
    if (this.ending) this.queue.end();
    this.queue.flush();
  }
  pendingBytes(): number {
    return this.waitingBytes + this.queue.pendingBytes();
  }

  /** Gives waiting chunks release times: a piece of n bytes occupies the pipe n / rate ms. */
  private schedule(): void {
    const bytesPerMs = attribute(this.attributes, "rate"); // KB/s is bytes per millisecond.
    if (bytesPerMs === 0) return; // A stall: bytes wait until the rate rises or the toxic goes.
    const pieceBytesMax = bytesPerMs * 100;
    let freeAtMs = Math.max(nowMs(), this.queue.lastReleaseAtMs());
    for (const chunk of this.waiting.splice(0)) {
      for (let offset = 0; offset < chunk.length; offset += pieceBytesMax) {
        const piece = chunk.subarray(offset, Math.min(chunk.length, offset + pieceBytesMax));
        freeAtMs += piece.length / bytesPerMs;
        this.queue.push(piece, freeAtMs);
      }
    }
    this.waitingBytes = 0;
    if (this.ending) this.queue.end();
  }
}

/** slow_close: data flows untouched; the close waits `delay` ms. */
export class SlowCloseToxic implements ToxicStage {
  static readonly kind: ToxicKind = {
    type: "slow_close",
    rules: [{ name: "delay", unit: "milliseconds", min: 0, max: latencyMsMax }],
    createStage: (context, attributes) => new SlowCloseToxic(context, attributes),
  };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: ToxicContext,
    private attributes: ToxicAttributes,
  ) {}

  write(chunk: Buffer): void {
    this.context.emit(chunk);
  }
  end(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.context.end(), attribute(this.attributes, "delay"));
  }
  update(attributes: ToxicAttributes): void {
    this.attributes = attributes;
  }
  remove(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.context.end();
  }
  pendingBytes(): number {
    return 0;
  }
}

/**
 * timeout: drops every byte. After `timeout` ms the connection closes; with 0 it stays open
 * forever (a blackhole: the peer waits, which is what a partition looks like from inside).
 * Removing the toxic closes the connection, as upstream's Cleanup does.
 */
export class TimeoutToxic implements ToxicStage {
  static readonly kind: ToxicKind = {
    type: "timeout",
    rules: [{ name: "timeout", unit: "milliseconds", min: 0, max: latencyMsMax }],
    createStage: (context, attributes) => new TimeoutToxic(context, attributes),
  };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: ToxicContext,
    attributes: ToxicAttributes,
  ) {
    this.arm(attributes);
  }

  write(_chunk: Buffer): void {} // Dropped on the floor.
  end(): void {
    this.disarm();
    this.context.end();
  }
  update(attributes: ToxicAttributes): void {
    this.arm(attributes); // Upstream restarts the toxic, and with it the clock.
  }
  remove(): void {
    this.disarm();
    this.context.close();
  }
  pendingBytes(): number {
    return 0;
  }

  private arm(attributes: ToxicAttributes): void {
    this.disarm();
    const timeoutMs = attribute(attributes, "timeout");
    if (timeoutMs > 0) this.timer = setTimeout(() => this.context.close(), timeoutMs);
  }
  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** reset_peer: the first bytes (or the end) start a `timeout` ms clock; then a TCP RST. */
export class ResetPeerToxic implements ToxicStage {
  static readonly kind: ToxicKind = {
    type: "reset_peer",
    rules: [{ name: "timeout", unit: "milliseconds", min: 0, max: latencyMsMax }],
    createStage: (context, attributes) => new ResetPeerToxic(context, attributes),
  };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: ToxicContext,
    private attributes: ToxicAttributes,
  ) {}

  write(_chunk: Buffer): void {
    this.trigger(); // Upstream consumes the chunk that triggers it and drops what follows.
  }
  end(): void {
    this.trigger();
  }
  update(attributes: ToxicAttributes): void {
    this.attributes = attributes;
  }
  remove(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
  pendingBytes(): number {
    return 0;
  }

  private trigger(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.context.reset(), attribute(this.attributes, "timeout"));
  }
}

/** slicer: cuts chunks into slices of about average_size bytes, `delay` µs apart. */
export class SlicerToxic implements ToxicStage {
  static readonly kind: ToxicKind = {
    type: "slicer",
    rules: [
      { name: "average_size", unit: "bytes", min: 0, max: sliceBytesMax },
      { name: "size_variation", unit: "bytes", min: 0, max: sliceBytesMax },
      { name: "delay", unit: "microseconds", min: 0, max: slicerDelayMicrosecondsMax },
    ],
    crossCheck: (attributes) => {
      const averageSize = attributes["average_size"] ?? 0;
      const sizeVariation = attributes["size_variation"] ?? 0;
      if (averageSize < 1)
        return `Expected \`average_size\` of slicer to be at least 1 (bytes), got ${averageSize}`;
      // Upstream accepts a variation equal to the average (slices of 0 to 2 * average_size
      // bytes; this one makes a 0 a 1). A larger one can cut a slice that ends before it
      // starts, and upstream's slicer panics on it.
      if (sizeVariation > averageSize) {
        return `Expected \`size_variation\` of slicer to be at most \`average_size\` (${averageSize}), got ${sizeVariation}`;
      }
      return undefined;
    },
    createStage: (context, attributes) => new SlicerToxic(context, attributes),
  };
  private readonly slices: Buffer[] = [];
  private sliceBytes = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private ending = false;

  constructor(
    private readonly context: ToxicContext,
    private attributes: ToxicAttributes,
  ) {}

  write(chunk: Buffer): void {
    const averageSize = attribute(this.attributes, "average_size");
    const sizeVariation = attribute(this.attributes, "size_variation");
    for (let offset = 0; offset < chunk.length;) {
      const size =
        averageSize + Math.floor(Math.random() * (2 * sizeVariation + 1)) - sizeVariation;
      const end = Math.min(chunk.length, offset + Math.max(1, size));
      this.slices.push(chunk.subarray(offset, end));
      this.sliceBytes += end - offset;
      offset = end;
    }
    if (this.timer === undefined) this.next();
  }
  end(): void {
    this.ending = true;
    if (this.timer === undefined && this.slices.length === 0) this.context.end();
  }
  update(attributes: ToxicAttributes): void {
    this.attributes = attributes;
  }
  remove(): void {
    this.cancel();
    for (const slice of this.slices.splice(0)) this.context.emit(slice);
    this.sliceBytes = 0;
    if (this.ending) this.context.end();
  }
  pendingBytes(): number {
    return this.sliceBytes;
  }

  /** Emits one slice and waits `delay` µs before the next; with no delay, emits them all. */
  private next(): void {
    this.timer = undefined;
    const delayMicroseconds = attribute(this.attributes, "delay");
    while (this.slices.length > 0) {
      const slice = this.slices.shift()!;
      this.sliceBytes -= slice.length;
      this.context.emit(slice);
      if (delayMicroseconds > 0 && this.slices.length > 0) {
        // Timers have millisecond resolution; below that, yielding to the event loop is the
        // closest honest pause, and it still lets the slices leave as separate writes.
        this.timer =
          delayMicroseconds >= 1000
            ? setTimeout(() => this.next(), delayMicroseconds / 1000)
            : setImmediate(() => this.next());
        return;
      }
    }
    if (this.ending) this.context.end();
  }
  private cancel(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }
}

/** limit_data: passes `bytes` bytes, then closes the connection. */
export class LimitDataToxic implements ToxicStage {
  static readonly kind: ToxicKind = {
    type: "limit_data",
    rules: [{ name: "bytes", unit: "bytes", min: 0, max: Number.MAX_SAFE_INTEGER }],
    createStage: (context, attributes) => new LimitDataToxic(context, attributes),
  };
  /** Kept across updates, as upstream keeps the toxic's state on the stub. */
  private transmittedBytes = 0;
  private closed = false;

  constructor(
    private readonly context: ToxicContext,
    private attributes: ToxicAttributes,
  ) {}

  write(chunk: Buffer): void {
    if (this.closed) return;
    const remainingBytes = Math.max(0, attribute(this.attributes, "bytes") - this.transmittedBytes);
    const piece = chunk.length > remainingBytes ? chunk.subarray(0, remainingBytes) : chunk;
    if (piece.length > 0) this.context.emit(piece);
    this.transmittedBytes += piece.length;
    if (this.transmittedBytes >= attribute(this.attributes, "bytes")) {
      this.closed = true;
      this.context.close();
    }
  }
  end(): void {
    if (!this.closed) this.context.end();
  }
  update(attributes: ToxicAttributes): void {
    this.attributes = attributes;
  }
  remove(): void {}
  pendingBytes(): number {
    return 0;
  }
}

/** Every toxic type this server knows, by its wire name. */
export const toxicKinds: ReadonlyMap<string, ToxicKind> = new Map(
  [
    LatencyToxic.kind,
    BandwidthToxic.kind,
    SlowCloseToxic.kind,
    TimeoutToxic.kind,
    ResetPeerToxic.kind,
    SlicerToxic.kind,
    LimitDataToxic.kind,
  ].map((kind) => [kind.type, kind]),
);
