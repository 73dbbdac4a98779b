// demo_corpus.hpp — the quickstart's bundled corpus: a few hundred short technical notes,
// generated deterministically (same documents, same order, on every machine and run).
//
//     for (const auto& d : sochdb_examples::demo_corpus()) { d.id; d.topic; d.year; d.text; }
//
// Eight topics (storage, transactions, vectors, search, llm, agents, graphs, caching) of eight
// subjects, each with the claim that is true of it; a document states one subject's claim in a
// setting ("under heavy load") and relates a second subject of its topic, with a year and a
// source, so documents of a topic share vocabulary (vector and keyword search find them) while
// varying in detail. Written for this project; no external text.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sochdb_examples {

struct demo_doc {
  std::string id;      ///< "doc:0001" ...
  std::string topic;   ///< one of the eight topics
  std::string source;  ///< "paper", "blog", "docs" or "talk"
  int year = 0;        ///< 2012..2025
  std::string title;
  std::string text;
};

namespace detail {
struct topic_words {
  const char* topic;
  std::vector<const char*> subjects;
  std::vector<const char*> claims;
};

inline const std::vector<topic_words>& topics() {
  static const std::vector<topic_words> t = {
      {"storage",
       {"A write-ahead log", "Group commit", "An LSM tree", "Leveled compaction", "A block cache",
        "A bloom filter", "A memtable", "Checksummed segments"},
       {"makes every acknowledged write survive a power cut",
        "batches many commits into one fsync to raise throughput",
        "turns random writes into sequential appends on disk",
        "keeps read amplification low by merging sorted runs",
        "keeps hot blocks in memory so repeated reads skip the disk",
        "skips files that cannot hold a key during point lookups",
        "flushes sorted data to immutable files in the background",
        "detect torn writes and bit rot before data is trusted"}},
      {"transactions",
       {"Snapshot isolation", "Serializable snapshot isolation",
        "Multi-version concurrency control", "Optimistic concurrency", "A commit timestamp",
        "Write-skew detection", "Two-phase locking", "A hybrid logical clock"},
       {"lets readers see a consistent snapshot without blocking writers",
        "aborts one of two transactions whose reads and writes form a dangerous cycle",
        "keeps old versions until no snapshot can still read them",
        "validates the read set at commit time instead of locking",
        "orders commits so every reader agrees on what happened first",
        "prevents the anomaly where two doctors both go off call",
        "holds locks until commit to guarantee serializability",
        "combines wall-clock time with a counter to order events"}},
      {"vectors",
       {"HNSW", "A flat index", "Product quantization", "Scalar quantization", "DiskANN",
        "Cosine similarity", "An embedding model", "Filtered vector search"},
       {"finds approximate nearest neighbors by walking a layered proximity graph",
        "compares the query against every vector and gives exact recall",
        "compresses embeddings into short codes with small recall loss",
        "stores each dimension in one byte to cut memory four times",
        "serves billion-point nearest neighbor search from an SSD",
        "measures the angle between embeddings regardless of their length",
        "maps sentences to dense vectors so similar meanings land close",
        "applies metadata predicates while traversing the graph"}},
      {"search",
       {"BM25", "An inverted index", "Reciprocal rank fusion", "Hybrid search", "A tokenizer",
        "Stop-word removal", "Query expansion", "Re-ranking"},
       {"scores documents by term frequency saturated against document length",
        "maps every word to the postings of documents that contain it",
        "merges ranked lists by summing reciprocal ranks",
        "combines keyword matches with vector similarity for better recall",
        "splits text into words and folds case and diacritics",
        "drops frequent words that carry little meaning for ranking",
        "adds related terms to a query to find more relevant documents",
        "orders the top candidates again with a more expensive model"}},
      {"llm",
       {"A token budget", "TOON", "Prompt compression", "A context window",
        "Retrieval-augmented generation", "Structured output", "A tokenizer for language models",
        "Few-shot prompting"},
       {"limits how much retrieved text fits into a single prompt",
        "declares field names once so tabular data costs fewer tokens than JSON",
        "removes redundant words so more facts fit in the prompt",
        "caps the tokens a language model can attend to at once",
        "grounds answers in documents retrieved at question time",
        "makes the model answer in a schema the program can parse",
        "splits text into subword units that the model counts",
        "shows the model worked examples before the real question"}},
      {"agents",
       {"Agent memory", "An episode log", "Tool calling", "The Model Context Protocol",
        "A planning loop", "Long-term memory", "Session state", "An agent's scratchpad"},
       {"stores what an agent saw and did so later runs can recall it",
        "records each step of a task with its timestamp and outcome",
        "lets a model invoke functions with arguments it generates",
        "connects agents to tools and data sources over JSON-RPC",
        "breaks a goal into steps and revises the plan after each result",
        "keeps facts about users and entities across conversations",
        "carries the context of one conversation between turns",
        "holds intermediate reasoning that is not shown to the user"}},
      {"graphs",
       {"A knowledge graph", "Temporal edges", "Graph traversal", "Entity resolution",
        "A property graph", "Neighborhood expansion", "Shortest paths", "Community detection"},
       {"links entities with typed relationships an agent can follow",
        "record when a relationship started and when it ended",
        "visits neighbors breadth first up to a depth limit",
        "merges records that describe the same person or thing",
        "attaches key-value properties to nodes and edges",
        "pulls related facts into the context of a retrieved entity",
        "find the cheapest chain of relationships between two entities",
        "groups densely connected entities into clusters"}},
      {"caching",
       {"A semantic cache", "Cache invalidation", "A time-to-live", "An LRU policy",
        "Embedding similarity thresholds", "A response cache", "Cache warming", "Negative caching"},
       {"answers a new question with the stored answer to a similar one",
        "drops entries when the data they were computed from changes",
        "expires entries after a fixed lifetime",
        "evicts the least recently used entry when memory is full",
        "decide how close two questions must be to share an answer",
        "saves the cost and latency of calling the language model again",
        "fills the cache with likely questions before traffic arrives",
        "remembers that a lookup found nothing to avoid repeating it"}},
  };
  return t;
}
}  // namespace detail

/// `n` documents (default 320), deterministic.
inline std::vector<demo_doc> demo_corpus(std::size_t n = 320) {
  static const char* const sources[] = {"paper", "blog", "docs", "talk"};
  const auto& topics = detail::topics();
  std::uint64_t state = 0x9E3779B97F4A7C15ull;  // fixed seed: the corpus never changes
  auto next = [&state]() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;  // PCG's LCG step
    return static_cast<std::uint32_t>(state >> 33);
  };
  std::vector<demo_doc> docs;
  docs.reserve(n);
  static const char* const settings[] = {"in production",         "at small scale",
                                         "on a laptop",           "under heavy load",
                                         "in an embedded system", "in a distributed deployment",
                                         "for agent workloads",   "in the original paper",
                                         "in recent benchmarks",  "with default settings"};
  for (std::size_t i = 0; i < n; ++i) {
    const auto& t = topics[i % topics.size()];
    // Subject s goes with its own claim s (the facts stay true); the second sentence relates
    // another subject of the same topic.
    std::size_t s = next() % t.subjects.size();
    std::size_t o = (s + 1 + next() % (t.subjects.size() - 1)) % t.subjects.size();
    demo_doc d;
    char id[32];
    std::snprintf(id, sizeof id, "doc:%04zu", i + 1);
    d.id = id;
    d.topic = t.topic;
    d.source = sources[next() % 4];
    d.year = 2012 + static_cast<int>(next() % 14);
    d.title = std::string(t.subjects[s]) + " " + t.claims[s];
    d.text = d.title + " " + settings[next() % 10] + ". Related: " + t.subjects[o] + " " +
             t.claims[o] + ".";
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace sochdb_examples
