//! Which peers subscribe to which topics, at a publisher (libzmq's `mtrie_t`).
//!
//! A topic matches a message when it is a byte prefix of the message's first frame; the
//! empty topic matches everything. Per peer a topic is in or out, not counted: a peer
//! subscribing `b"A"` twice is undone by one cancel (counting happens at the subscriber,
//! which sends only the last cancel of a topic), as in libzmq, whose trie keeps a set of
//! pipes per topic.
//!
//! The topics live in a byte trie: matching a frame walks it from the root, one child
//! look-up per byte, and stops at the first byte no topic continues with, so a match costs
//! at most the length of the longest subscribed topic however many topics there are. Peers
//! are small integers ([`PeerId`]) the caller hands out.

use std::collections::BTreeSet;

/// A peer as the index knows it: a small integer chosen by the caller (a slot number).
pub type PeerId = u32;

/// What cancelling one peer's subscription found (libzmq's `mtrie_t::rm_result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// The peer was not subscribed to that topic.
    NotFound = 0,
    /// It was, and was the last subscriber of the topic.
    LastRemoved = 1,
    /// It was; other peers still subscribe to the topic.
    Remaining = 2,
}

/// One trie node: the topic spelled by the path to it.
#[derive(Debug, Default, Clone)]
struct Node {
    /// Next byte -> node, sorted by byte.
    children: Vec<(u8, u32)>,
    /// The peers subscribed to this node's topic, sorted, each once.
    peers: Vec<PeerId>,
}

impl Node {
    fn child(&self, byte: u8) -> Option<u32> {
        // Nodes have few children: a linear scan beats a binary search at these sizes.
        self.children
            .iter()
            .find_map(|&(b, node)| (b == byte).then_some(node))
    }
}

/// The publisher-side subscription index: topic -> set of peers, and peer -> topics.
///
/// ```
/// use _core::subscriptions::{Removed, Subscriptions};
///
/// let mut subs = Subscriptions::new();
/// assert!(subs.add(b"ab", 1));
/// assert!(!subs.add(b"ab", 2));
/// let mut matched = Vec::new();
/// subs.matching(b"abc", &mut matched);
/// assert_eq!(matched, [1, 2]);
/// assert_eq!(subs.remove(b"ab", 1), Removed::Remaining);
/// ```
#[derive(Debug, Clone)]
pub struct Subscriptions {
    /// The trie; `nodes[0]` is the root (the empty topic). Freed nodes are reused.
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// Distinct topics with at least one peer.
    topics: usize,
    /// Each peer's topics, byte-wise ascending (libzmq's trie order), by peer id.
    of_peer: Vec<BTreeSet<Vec<u8>>>,
    /// Deduplication for [`Subscriptions::matching`]: a peer was taken in this match when
    /// its stamp equals `stamp`.
    seen: Vec<u32>,
    stamp: u32,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Self::new()
    }
}

impl Subscriptions {
    /// An index with no subscriptions.
    pub fn new() -> Self {
        Subscriptions {
            nodes: vec![Node::default()],
            free: Vec::new(),
            topics: 0,
            of_peer: Vec::new(),
            seen: Vec::new(),
            stamp: 0,
        }
    }

    /// How many distinct topics have at least one subscriber.
    pub fn len(&self) -> usize {
        self.topics
    }

    /// Whether no peer subscribes to anything.
    pub fn is_empty(&self) -> bool {
        self.topics == 0
    }

    /// Subscribes `peer` to `topic`; true if nobody subscribed to it before.
    pub fn add(&mut self, topic: &[u8], peer: PeerId) -> bool {
        let mut node = 0;
        for &byte in topic {
            node = match self.nodes[node as usize].child(byte) {
                Some(child) => child,
                None => self.new_child(node, byte),
            };
        }
        let peers = &mut self.nodes[node as usize].peers;
        let first = peers.is_empty();
        if let Err(at) = peers.binary_search(&peer) {
            peers.insert(at, peer);
            self.topics_of_mut(peer).insert(topic.to_vec());
        }
        if first {
            self.topics += 1;
        }
        first
    }

    /// Cancels `peer`'s subscription to `topic`.
    pub fn remove(&mut self, topic: &[u8], peer: PeerId) -> Removed {
        let Some(path) = self.path(topic) else {
            return Removed::NotFound;
        };
        let node = *path.last().expect("the root is on every path");
        let peers = &mut self.nodes[node as usize].peers;
        let Ok(at) = peers.binary_search(&peer) else {
            return Removed::NotFound;
        };
        peers.remove(at);
        let remaining = !peers.is_empty();
        self.of_peer[peer as usize].remove(topic);
        if remaining {
            return Removed::Remaining;
        }
        self.topics -= 1;
        self.prune(topic, &path);
        Removed::LastRemoved
    }

    /// Drops every subscription of `peer`. Returns its topics byte-wise ascending (libzmq's
    /// trie order): all of them, or with `only_last` those nobody else holds any more.
    pub fn remove_peer(&mut self, peer: PeerId, only_last: bool) -> Vec<Vec<u8>> {
        let Some(topics) = self.of_peer.get_mut(peer as usize) else {
            return Vec::new();
        };
        let topics = std::mem::take(topics);
        let mut reported = Vec::new();
        for topic in topics {
            let path = self.path(&topic).expect("a peer's topic is in the trie");
            let node = *path.last().expect("the root is on every path");
            let peers = &mut self.nodes[node as usize].peers;
            if let Ok(at) = peers.binary_search(&peer) {
                peers.remove(at);
            }
            if peers.is_empty() {
                self.topics -= 1;
                self.prune(&topic, &path);
                reported.push(topic);
            } else if !only_last {
                reported.push(topic);
            }
        }
        reported
    }

    /// The topics `peer` subscribes to, byte-wise ascending.
    pub fn topics_of(&self, peer: PeerId) -> impl Iterator<Item = &[u8]> {
        self.of_peer
            .get(peer as usize)
            .into_iter()
            .flatten()
            .map(Vec::as_slice)
    }

    /// Puts into `matched` (cleared first) each peer with a topic that is a prefix of
    /// `frame`, once.
    pub fn matching(&mut self, frame: &[u8], matched: &mut Vec<PeerId>) {
        // hot path (PUB send): one child look-up per byte, while some topic goes on.
        matched.clear();
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Wrapped: stamps from 2^32 matches ago could pass for this one's.
            self.seen.fill(0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        let mut node = &self.nodes[0];
        let mut bytes = frame.iter();
        // Only a peer on two nodes of the path needs the check; the first node with
        // peers is taken whole.
        let mut deduplicate = false;
        loop {
            if !node.peers.is_empty() {
                for &peer in &node.peers {
                    let seen = &mut self.seen[peer as usize];
                    if !deduplicate || *seen != stamp {
                        *seen = stamp;
                        matched.push(peer);
                    }
                }
                deduplicate = true;
            }
            if node.children.is_empty() {
                break;
            }
            let Some(child) = bytes.next().and_then(|&byte| node.child(byte)) else {
                break;
            };
            node = &self.nodes[child as usize];
        }
    }

    fn topics_of_mut(&mut self, peer: PeerId) -> &mut BTreeSet<Vec<u8>> {
        let index = peer as usize;
        if self.of_peer.len() <= index {
            self.of_peer.resize_with(index + 1, BTreeSet::new);
            self.seen.resize(index + 1, 0);
        }
        &mut self.of_peer[index]
    }

    fn new_child(&mut self, parent: u32, byte: u8) -> u32 {
        let child = match self.free.pop() {
            Some(reused) => reused,
            None => {
                self.nodes.push(Node::default());
                u32::try_from(self.nodes.len() - 1).expect("fewer than 2^32 trie nodes")
            }
        };
        let children = &mut self.nodes[parent as usize].children;
        let at = children.partition_point(|&(b, _)| b < byte);
        children.insert(at, (byte, child));
        child
    }

    /// The nodes from the root to `topic`'s node, if the trie has it.
    fn path(&self, topic: &[u8]) -> Option<Vec<u32>> {
        let mut path = Vec::with_capacity(topic.len() + 1);
        let mut node = 0;
        path.push(node);
        for &byte in topic {
            node = self.nodes[node as usize].child(byte)?;
            path.push(node);
        }
        Some(path)
    }

    /// Frees the nodes at the end of `path` (spelling `topic`) that no longer lead to any
    /// subscription; the root stays.
    fn prune(&mut self, topic: &[u8], path: &[u32]) {
        for depth in (1..path.len()).rev() {
            let node = &self.nodes[path[depth] as usize];
            if !node.peers.is_empty() || !node.children.is_empty() {
                break;
            }
            let byte = topic[depth - 1];
            let parent = &mut self.nodes[path[depth - 1] as usize];
            parent.children.retain(|&(b, _)| b != byte);
            self.free.push(path[depth]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(subs: &mut Subscriptions, frame: &[u8]) -> Vec<PeerId> {
        let mut out = Vec::new();
        subs.matching(frame, &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn a_topic_matches_frames_it_is_a_prefix_of() {
        let mut subs = Subscriptions::new();
        assert!(subs.add(b"abc", 1));
        assert_eq!(matched(&mut subs, b"abc"), [1]);
        assert_eq!(matched(&mut subs, b"abcdef"), [1]);
        assert!(matched(&mut subs, b"ab").is_empty());
        assert!(matched(&mut subs, b"abd").is_empty());
        assert!(matched(&mut subs, b"").is_empty());
    }

    #[test]
    fn the_empty_topic_matches_everything_including_an_empty_frame() {
        let mut subs = Subscriptions::new();
        assert!(subs.add(b"", 4));
        assert_eq!(matched(&mut subs, b""), [4]);
        assert_eq!(matched(&mut subs, b"anything"), [4]);
        assert_eq!(subs.len(), 1);
    }

    #[test]
    fn a_peer_matching_through_several_topics_is_listed_once() {
        let mut subs = Subscriptions::new();
        subs.add(b"", 1);
        subs.add(b"a", 1);
        subs.add(b"ab", 1);
        subs.add(b"ab", 2);
        subs.add(b"a", 3);
        assert_eq!(matched(&mut subs, b"abc"), [1, 2, 3]);
        assert_eq!(matched(&mut subs, b"b"), [1]);
    }

    #[test]
    fn subscriptions_are_a_set_per_peer_not_counted() {
        let mut subs = Subscriptions::new();
        assert!(subs.add(b"t", 1));
        assert!(!subs.add(b"t", 1)); // a duplicate: not the first, not counted
        assert!(!subs.add(b"t", 2));
        assert_eq!(subs.remove(b"t", 1), Removed::Remaining);
        assert_eq!(subs.remove(b"t", 1), Removed::NotFound); // one cancel undid both
        assert_eq!(subs.remove(b"t", 2), Removed::LastRemoved);
        assert!(subs.is_empty());
        assert!(matched(&mut subs, b"t").is_empty());
        // A cancel of a topic never subscribed, or by a peer that does not hold it.
        assert_eq!(subs.remove(b"nothing", 1), Removed::NotFound);
        subs.add(b"x", 1);
        assert_eq!(subs.remove(b"x", 2), Removed::NotFound);
    }

    #[test]
    fn removing_a_peer_reports_its_topics_in_trie_order() {
        let mut subs = Subscriptions::new();
        for topic in [&b"b"[..], b"ab", b"a", b""] {
            subs.add(topic, 7);
        }
        subs.add(b"a", 8);
        let mut all = subs.clone();
        assert_eq!(
            all.remove_peer(7, false),
            [&b""[..], b"a", b"ab", b"b"].map(<[u8]>::to_vec)
        );
        assert_eq!(
            subs.remove_peer(7, true),
            [&b""[..], b"ab", b"b"].map(<[u8]>::to_vec)
        );
        assert_eq!(subs.len(), 1);
        assert_eq!(matched(&mut subs, b"abc"), [8]);
        assert!(subs.remove_peer(7, true).is_empty());
        assert!(subs.remove_peer(99, false).is_empty()); // never seen
    }

    #[test]
    fn pruned_nodes_are_reused_and_matching_stays_right() {
        let mut subs = Subscriptions::new();
        subs.add(b"abcd", 1);
        subs.add(b"ab", 2);
        assert_eq!(subs.remove(b"abcd", 1), Removed::LastRemoved);
        let nodes = subs.nodes.len();
        subs.add(b"abxy", 3);
        assert_eq!(subs.nodes.len(), nodes, "freed nodes reused");
        assert_eq!(matched(&mut subs, b"abxyz"), [2, 3]);
        assert_eq!(matched(&mut subs, b"abcd"), [2]);
        assert_eq!(subs.topics_of(3).collect::<Vec<_>>(), [b"abxy"]);
    }

    #[test]
    fn the_dedup_stamp_survives_wrapping() {
        let mut subs = Subscriptions::new();
        subs.add(b"", 0);
        subs.add(b"a", 0);
        subs.stamp = u32::MAX - 1;
        for _ in 0..4 {
            assert_eq!(matched(&mut subs, b"a"), [0]);
        }
    }
}
