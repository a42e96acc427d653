// Ports for tests that start a cluster with `npx neverstop up`'s fixed layout (lesson 3,
// "network splits": the layout of topology.ts, nodes and proxies). Tests run beside other
// clusters on this machine, so each one takes a base port whose every port is free now.

import { fixedPorts, portIsFree } from "../../cluster/runtime/real/cluster.ts";
import { proxyPorts, toxiproxyPortOf } from "./topology.ts";

/** The kernel hands out ports from here up as the local ends of outgoing connections
 * (/proc/sys/net/ipv4/ip_local_port_range, 32768..60999 by default): a port there, free when
 * checked, may be taken by any program's connection before `up` listens on it. */
const ephemeralPortLow = 32_768;

/**
 * A base port (a multiple of 100 from 20000) whose nodes' HTTP and peer ports, Toxiproxy API
 * port (toxiproxyPortOf) and proxy ports are all free right now and all below the ephemeral
 * range. Example: 3 nodes on base 24300 use 24301-24303, 25301-25303, 24694, 26301-26303 and
 * 27402-27602 for the proxies n1->n2 .. n3->n2.
 */
export async function freeBasePort(nodeCount: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const basePort = 20_000 + 100 * Math.floor(Math.random() * 80);
    const layout = { basePort, nodeCount };
    const proxies = proxyPorts(layout).map(({ port }) => port);
    if (Math.max(...proxies) >= ephemeralPortLow) {
      throw new RangeError(`Expected a node count whose proxies fit below ${ephemeralPortLow}`);
    }
    const ports = [toxiproxyPortOf(layout), ...proxies];
    for (const { httpPort, peerPort } of fixedPorts(nodeCount, basePort))
      ports.push(httpPort, peerPort);
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return basePort;
  }
  throw new Error("no free port layout below 32768 after 100 tries");
}
