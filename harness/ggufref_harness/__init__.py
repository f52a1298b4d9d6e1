"""ggufref_harness — the library behind the acceptance suite and the trace tools.

Modules:
  wire      spawn an implementation and speak the wire protocol with it (SPEC chapter 9)
  spec      status numbers, capability names, protocol constants (SPEC chapters 1 and 9)
  table     the runtime transition table, conformance/transitions.tsv (SPEC chapter 7)
  tracefmt  the trace format: read, compare, replay (SPEC chapter 10)
  report    the conformance report (Markdown, HTML, JSON)
  paths     where the repository, the build and the shared material are
"""
