// sochdb/context.hpp — the context builder: database content packed into an LLM prompt under a
// token budget (docs/context.md).
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/context/context_builder.hpp>
#include <sochdb/context/search_source.hpp>
