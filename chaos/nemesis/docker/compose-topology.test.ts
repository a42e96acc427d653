// Tests of the container layout (lesson 3, "network splits"): one proxy per directed link and
// per client link, no two listeners on one port, nodes that reach peers through their links.

import { describe, expect, it } from "vitest";
import {
  checkLayout,
  composeLayout,
  composeNodeConfig,
  composeProxies,
  linkProxyPortOf,
  nodeIndexOf,
} from "./compose-topology.ts";
import { checkNodeConfig } from "../../../cluster/runtime/real/node-config.ts";

describe("compose layout", () => {
  it("has one proxy per directed node link and one per client link, every listener distinct", () => {
    for (const nodeCount of [1, 3, 5, 16]) {
      const proxies = composeProxies({ ...composeLayout, nodeCount }, "127.0.0.1");
      expect(proxies).toHaveLength(nodeCount + nodeCount * (nodeCount - 1));
      expect(new Set(proxies.map((proxy) => proxy.name)).size).toBe(proxies.length);
      expect(new Set(proxies.map((proxy) => proxy.listen)).size).toBe(proxies.length);
      for (const proxy of proxies) {
        expect(proxy.upstream.startsWith("127.0.0.1:")).toBe(true);
        expect(proxy.name).toMatch(/^(client|n\d+)->n\d+$/);
      }
    }
  });

  it("names the link n1->n3 with the port 20103 and sends it to n3's peer port", () => {
    const proxies = composeProxies(composeLayout, "127.0.0.1");
    const link = proxies.find((proxy) => proxy.name === "n1->n3");
    expect(link).toEqual({
      name: "n1->n3",
      listen: "127.0.0.1:20103",
      upstream: "127.0.0.1:19083",
      enabled: true,
    });
    const client = proxies.find((proxy) => proxy.name === "client->n3");
    expect(client?.upstream).toBe("127.0.0.1:18083");
  });

  it("listens for clients on 0.0.0.0 only when asked (the plain compose file's namespace)", () => {
    const shared = composeProxies(composeLayout, "0.0.0.0");
    for (const proxy of shared) {
      const expectedHost = proxy.name.startsWith("client->") ? "0.0.0.0" : "127.0.0.1";
      expect(proxy.listen.split(":")[0]).toBe(expectedHost);
    }
  });

  it("makes node configurations the node process accepts, peers through their own links", () => {
    for (let index = 1; index <= 5; index++) {
      const config = checkNodeConfig(composeNodeConfig(composeLayout, `n${index}`, "/data", false));
      expect(config.httpPort).toBe(18080 + index);
      expect(config.peerPort).toBe(19080 + index);
      for (let to = 1; to <= 5; to++) {
        const expected = to === index ? 19080 + to : linkProxyPortOf(composeLayout, index, to);
        expect(config.peers[`n${to}`]).toEqual({ host: "127.0.0.1", port: expected });
      }
      const direct = composeNodeConfig(composeLayout, `n${index}`, "/data", true);
      expect(direct.peers["n5"]).toEqual({ host: "127.0.0.1", port: 19085 });
    }
  });

  it("refuses node ids outside the cluster and layouts whose ports collide", () => {
    expect(() => nodeIndexOf("n6", 5)).toThrow("Expected a node id from n1 to n5, got n6");
    expect(() => nodeIndexOf("x1", 5)).toThrow("got x1");
    expect(() => checkLayout({ ...composeLayout, clientBasePort: 18080 })).toThrow(/both use port/);
    expect(() => checkLayout({ ...composeLayout, nodeCount: 17 })).toThrow(/from 1 to 16/);
    expect(() => checkLayout({ ...composeLayout, clientBasePort: 65534 })).toThrow(/65535/);
  });
});
