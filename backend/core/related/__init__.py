"""Which stored examples are related: exact repeats, near-duplicates, and examples sharing a prompt.

    related = find_related(store_dir)     # the groups the analysis stored, all of them
    related.exact, related.near, related.prompt    # groups of store positions
    related.components()                   # one id per example: related examples share it

Positions are 0-based places in the store (file order of the usable examples);
`related.record_numbers[p]` is the record number the report uses for position p. The fix actions,
the leak-free splits and the notebook's eval split all read duplicates through `find_related`, so
when complete group lists are stored with the analysis, this is the one function to point at them.
"""

from backend.core.related.find import RelatedExamples, example_conversation, find_related, link_groups

__all__ = ["RelatedExamples", "example_conversation", "find_related", "link_groups"]
