// A Toxiproxy proxy: a TCP listener whose every accepted connection is piped to its upstream
// through two chains of toxics, one per direction (lesson 3, network splits: a partition is
// a set of disabled or blackholed links; lesson 9, back pressure: a slow link pauses its
// source instead of buffering without bound).
//
//   client ──upstream link: toxic, toxic, ...──> server
//   client <──downstream link: toxic, toxic, ...── server
//
// Toxics added to or removed from the proxy reach the open connections at once, as upstream's
// ToxicLink does: a new toxic joins the end of each chain; a removed toxic first hands on what
// it holds, so no byte is dropped or reordered by the change itself.

import net from "node:net";
import type { Socket, Server } from "node:net";
import {
  PassThroughStage,
  type StreamDirection,
  type ToxicAttributes,
  type ToxicContext,
  type ToxicKind,
  type ToxicStage,
} from "./toxics.ts";

/** A toxic as the API knows it; each connection runs its own stage of it. */
export interface ToxicDefinition {
  readonly name: string;
  readonly kind: ToxicKind;
  readonly stream: StreamDirection;
  toxicity: number;
  attributes: ToxicAttributes;
}

/** Bytes a link's toxics may hold before the link stops reading from its source. */
const stageBytesMax = 1_048_576;
/** Open connections per proxy; more are closed as soon as they are accepted. */
export const connectionCountMax = 4096;

/** A host and port, as `listen` and `upstream` carry them. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port" ("[::1]:80" for IPv6); returns an error message on bad input. */
export function parseAddress(text: string, field: string): Address | string {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || !(port >= 0 && port <= 65_535)) {
    return `Expected \`${field}\` to be host:port with a port from 0 to 65535, got ${JSON.stringify(text)}`;
  }
  return { host: match[1] ?? match[2]!, port };
}

/** Loopback by address, not by name resolution: only names that cannot leave the machine. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function formatAddress(address: Address): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

/** A stage on a link, with what has crossed its two ends. */
interface LinkEntry {
  readonly definition: ToxicDefinition;
  stage: ToxicStage;
  inputEnded: boolean;
  outputEnded: boolean;
}

/** One direction of one connection: source socket -> toxic stages -> destination socket. */
class Link {
  private readonly entries: LinkEntry[] = [];
  private sinkEnded = false;
  private paused = false;
  private disposed = false;

  constructor(
    private readonly connection: Connection,
    private readonly source: Socket,
    private readonly destination: Socket,
    definitions: readonly ToxicDefinition[],
  ) {
    for (const definition of definitions) this.addToxic(definition);
    source.on("data", (chunk: Buffer) => this.accept(chunk));
    source.on("end", () => this.acceptEnd());
    destination.on("drain", () => this.relieve());
  }

  /** Joins the end of the chain. Toxicity is rolled here, once per connection and toxic. */
  addToxic(definition: ToxicDefinition): void {
    const entry: LinkEntry = {
      definition,
      stage: undefined!,
      inputEnded: false,
      outputEnded: false,
    };
    const context = this.contextFor(entry);
    const active = Math.random() < definition.toxicity;
    entry.stage = active
      ? definition.kind.createStage(context, definition.attributes)
      : new PassThroughStage(context);
    this.entries.push(entry);
  }

  updateToxic(definition: ToxicDefinition): void {
    this.entries
      .find((entry) => entry.definition === definition)
      ?.stage.update(definition.attributes);
    this.relieve();
  }

  /** The stage hands on what it holds (timeout closes instead), then leaves the chain. */
  removeToxic(definition: ToxicDefinition): void {
    const entry = this.entries.find((candidate) => candidate.definition === definition);
    if (entry === undefined) return;
    entry.stage.remove();
    // A stage that swallowed the end (reset_peer waiting for its clock) must not lose it.
    if (entry.inputEnded && !entry.outputEnded) this.forwardEnd(entry);
    this.entries.splice(this.entries.indexOf(entry), 1);
    this.relieve();
  }

  /** Stops every timer without handing anything on: the connection is gone. */
  dispose(): void {
    this.disposed = true;
    for (const entry of this.entries) entry.stage.remove();
  }

  private contextFor(entry: LinkEntry): ToxicContext {
    return {
      emit: (chunk) => {
        if (!entry.outputEnded && !this.disposed) this.forward(entry, chunk);
      },
      end: () => {
        if (entry.outputEnded || this.disposed) return;
        entry.outputEnded = true;
        this.forwardEnd(entry);
      },
      close: () => {
        if (entry.outputEnded || this.disposed) return;
        this.connection.closeRequested = true;
        entry.outputEnded = true;
        this.forwardEnd(entry);
      },
      reset: () => {
        if (!this.disposed) this.connection.reset();
      },
    };
  }

  private accept(chunk: Buffer): void {
    const first = this.entries[0];
    if (first === undefined) {
      this.sinkWrite(chunk);
      return;
    }
    if (!first.inputEnded) first.stage.write(chunk);
    if (this.stagePendingBytes() > stageBytesMax) this.pause();
  }

  private acceptEnd(): void {
    const first = this.entries[0];
    if (first === undefined) {
      this.sinkEnd();
      return;
    }
    first.inputEnded = true;
    first.stage.end();
  }

  private forward(entry: LinkEntry, chunk: Buffer): void {
    const next = this.entries[this.entries.indexOf(entry) + 1];
    if (next === undefined) this.sinkWrite(chunk);
    else if (!next.inputEnded) next.stage.write(chunk);
  }

  private forwardEnd(entry: LinkEntry): void {
    const next = this.entries[this.entries.indexOf(entry) + 1];
    if (next === undefined) {
      this.sinkEnd();
      return;
    }
    if (next.inputEnded) return;
    next.inputEnded = true;
    next.stage.end();
  }

  private sinkWrite(chunk: Buffer): void {
    if (this.sinkEnded || this.destination.destroyed) return;
    if (!this.destination.write(chunk)) this.pause();
    else if (this.paused) this.relieve();
  }

  private sinkEnd(): void {
    if (this.sinkEnded) return;
    this.sinkEnded = true;
    this.connection.linkEnded(this.destination);
  }

  private stagePendingBytes(): number {
    let bytes = 0;
    for (const entry of this.entries) bytes += entry.stage.pendingBytes();
    return bytes;
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.source.pause();
  }

  /** Resumes the source once the destination drained and the toxics hold little again. */
  private relieve(): void {
    if (!this.paused || this.destination.writableNeedDrain) return;
    if (this.stagePendingBytes() > stageBytesMax / 2) return;
    this.paused = false;
    this.source.resume();
  }
}

/** One accepted client, its upstream socket, and the two links between them. */
class Connection {
  /** Set by a toxic that closes the connection (timeout, limit_data): the end becomes a close. */
  closeRequested = false;
  private readonly server: Socket;
  private readonly links: Record<StreamDirection, Link>;
  private endedLinkCount = 0;
  private destroyed = false;

  constructor(
    private readonly proxy: Proxy,
    private readonly client: Socket,
    upstream: Address,
  ) {
    this.server = net.connect({
      host: upstream.host,
      port: upstream.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    client.setNoDelay(true);
    for (const socket of [client, this.server]) {
      socket.on("error", () => this.destroy());
      // A clean close is not the end of the connection: the other direction may still hold
      // bytes in its toxics (latency, slow_close) that the links deliver before closing.
      socket.on("close", (hadError: boolean) => {
        if (hadError) this.destroy();
      });
    }
    this.links = {
      upstream: new Link(this, client, this.server, proxy.toxicsOf("upstream")),
      downstream: new Link(this, this.server, client, proxy.toxicsOf("downstream")),
    };
  }

  link(stream: StreamDirection): Link {
    return this.links[stream];
  }

  /** A link passed its end on: half-close its destination, or close all if a toxic asked to. */
  linkEnded(destination: Socket): void {
    this.endedLinkCount += 1;
    if (this.closeRequested) {
      destination.end(() => this.destroy());
      return;
    }
    destination.end();
    if (this.endedLinkCount === 2) destination.once("finish", () => this.destroy());
  }

  /** Both sockets closed with a TCP RST (reset_peer). */
  reset(): void {
    for (const socket of [this.client, this.server]) {
      if (!socket.destroyed) socket.resetAndDestroy();
    }
    this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.client.destroy();
    this.server.destroy();
    this.links.upstream.dispose();
    this.links.downstream.dispose();
    this.proxy.forget(this);
  }
}

/** Thrown when a proxy cannot listen (address in use, no such address). */
export class ProxyListenError extends Error {
  override readonly name = "ProxyListenError";
}

/** A named proxy: listen address, upstream address, toxics per direction, open connections. */
export class Proxy {
  enabled = false;
  private readonly toxics: Record<StreamDirection, ToxicDefinition[]> = {
    upstream: [],
    downstream: [],
  };
  private readonly connections = new Set<Connection>();
  private listener: Server | undefined;

  constructor(
    readonly name: string,
    /** As given; after the first listen, the bound address, so re-enabling keeps the port. */
    public listen: string,
    public upstream: string,
  ) {}

  toxicsOf(stream: StreamDirection): readonly ToxicDefinition[] {
    return this.toxics[stream];
  }

  /** Upstream lists the upstream chain first, then the downstream chain. */
  allToxics(): ToxicDefinition[] {
    return [...this.toxics.upstream, ...this.toxics.downstream];
  }

  findToxic(name: string): ToxicDefinition | undefined {
    return this.allToxics().find((toxic) => toxic.name === name);
  }

  async start(): Promise<void> {
    if (this.enabled) return;
    const address = parseAddress(this.listen, "listen");
    if (typeof address === "string") throw new ProxyListenError(address);
    const listener = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      this.accept(socket),
    );
    await new Promise<void>((resolve, reject) => {
      listener.once("error", (error: NodeJS.ErrnoException) => {
        const reason =
          error.code === "EADDRINUSE"
            ? "EADDRINUSE (address already in use)"
            : (error.code ?? error.message);
        reject(
          new ProxyListenError(`Proxy ${this.name} cannot listen on ${this.listen}: ${reason}`),
        );
      });
      listener.listen(
        { host: address.host === "localhost" ? "127.0.0.1" : address.host, port: address.port },
        resolve,
      );
    });
    listener.on("error", () => {}); // After listening, errors belong to single sockets.
    const bound = listener.address();
    if (bound === null || typeof bound === "string")
      throw new Error("A TCP listener has a host and port");
    this.listener = listener;
    this.listen = formatAddress({ host: bound.address, port: bound.port });
    this.enabled = true;
  }

  /** Closes the listener and every open connection, as upstream's stop() does. */
  async stop(): Promise<void> {
    if (!this.enabled) return;
    this.enabled = false;
    const listener = this.listener;
    this.listener = undefined;
    for (const connection of [...this.connections]) connection.destroy();
    await new Promise<void>((resolve) => listener?.close(() => resolve()) ?? resolve());
  }

  addToxic(definition: ToxicDefinition): void {
    this.toxics[definition.stream].push(definition);
    for (const connection of this.connections)
      connection.link(definition.stream).addToxic(definition);
  }

  updateToxic(definition: ToxicDefinition): void {
    for (const connection of this.connections)
      connection.link(definition.stream).updateToxic(definition);
  }

  removeToxic(definition: ToxicDefinition): void {
    const chain = this.toxics[definition.stream];
    chain.splice(chain.indexOf(definition), 1);
    for (const connection of [...this.connections])
      connection.link(definition.stream).removeToxic(definition);
  }

  removeAllToxics(): void {
    for (const toxic of this.allToxics()) this.removeToxic(toxic);
  }

  forget(connection: Connection): void {
    this.connections.delete(connection);
  }

  toJSON(): object {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: this.allToxics().map(toxicJson),
    };
  }

  private accept(client: Socket): void {
    const upstream = parseAddress(this.upstream, "upstream");
    if (this.connections.size >= connectionCountMax || typeof upstream === "string") {
      client.destroy();
      return;
    }
    const host = upstream.host === "localhost" ? "127.0.0.1" : upstream.host;
    this.connections.add(new Connection(this, client, { host, port: upstream.port }));
  }
}

/** The wire shape of a toxic, in upstream's field order. */
export function toxicJson(toxic: ToxicDefinition): object {
  return {
    attributes: toxic.attributes,
    name: toxic.name,
    type: toxic.kind.type,
    stream: toxic.stream,
    toxicity: toxic.toxicity,
  };
}
