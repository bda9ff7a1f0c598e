"""Synthetic data generation, the pure part: what to ask a model, how to read its answer, which rows to keep.

    payloads   the request of each mode (pydantic), parse_request
    presets    exploration modes (seed 004): sampling settings + prompt instruction
    prompts    the prompt builders; PROMPT_VERSION goes into every row's provenance
    parse      lenient parsing of model answers (fences, broken JSON, cut-off arrays, numbered lists)
    modes      BatchRequest / Candidate and the inputs and examples modes
    view       seed 000 /data/view: classification (label quotas) and seq2seq
    questions  seed 000 /question: grounded question/answer pairs over token chunks, judge scores
    chunking   content cut by exact token counts
    gates      quality gates and drop reasons (structure, length, duplicates, novelty)
    quotas     balanced label quotas
    cost       price table arithmetic and the estimate before starting
    rows       the rows file (append, read while written, resume) and the chat dataset it becomes
    seeds      seeds sampled from an uploaded dataset

The batch loop, the providers and the task bodies are in backend/services/generation.
"""
