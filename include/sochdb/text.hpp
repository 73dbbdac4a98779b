// sochdb/text.hpp — tokenizer, BM25 inverted index, rank fusion.
#pragma once

#include <sochdb/text/bm25.hpp>
#include <sochdb/text/fusion.hpp>
#include <sochdb/text/tokenizer.hpp>
