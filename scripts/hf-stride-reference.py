"""Hugging Face's own answers for texts processed in overlapping windows (`stride`), for test/pipeline.stride.test.ts.

Runs transformers' TokenClassificationPipeline on our models (weights/demo-ner and the shared fixtures'
ner-tiny-cased) with a small window (`tokenizer.model_max_length`) and a stride, for every aggregation strategy
that allows a stride, and writes what it returns to test/reference/hf-stride.json. The cases follow transformers'
own `test_chunking_fast` (tests/pipelines/test_pipelines_token_classification.py: model_max_length 12, stride 4,
its sentence), on our weights instead of the hub's random tiny model, plus longer texts and other strides.

One deliberate change to HF's stack: tokenizers 0.23.x (the version transformers 5.17 uses, and the only one here)
stops tokenizing a truncated text early and loses every overflow window past the first few
(huggingface/tokenizers#2091), so HF's pipeline silently drops the end of a long text. wgbert keeps the documented
windows (README "Tokenizer"); so that the reference tests the windows' *merging*, the backend tokenizer is wrapped
to truncate as tokenizers <= 0.22.2 did and as its documentation describes: encode the whole text, then
`post_process` (truncate with stride into overflow windows, add the special tokens). Everything else is HF's own.

    python3 scripts/hf-stride-reference.py [FIXTURES_DIR]     # needs torch and transformers (see the output's header)
"""
import json
import os
import sys

import tokenizers
import torch
import transformers
from transformers import AutoModelForTokenClassification, AutoTokenizer, TokenClassificationPipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FIXTURES = os.environ.get("WGBERT_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
FIXTURES = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_FIXTURES

MODELS = {
    "demo-ner": os.path.join(ROOT, "weights", "demo-ner"),
    "ner-tiny-cased": os.path.join(FIXTURES, "models", "ner-tiny-cased"),
}
TEXTS = [
    # transformers' test_chunking_fast sentence
    "The company, based in New York City was founded in 2016 by French entrepreneurs",
    # transformers' test_chunking sentence
    "Hugging Face, Inc. is a French company that develops tools for building applications using machine learning. "
    "The company, based in New York City was founded in 2016 by French entrepreneurs Clément Delangue, "
    "Julien Chaumond, and Thomas Wolf.",
    "Angela Merkel met Emmanuel Macron in Berlin on Tuesday. The European Union and NATO were discussed, "
    "as were the Deutsche Bank results and a visit by Joe Biden to Paris, Lyon and Marseille next May.",
]
# (window = tokenizer.model_max_length, stride)
WINDOWS = [(12, 4), (12, 0), (16, 6), (24, 8), (10, 7)]
STRATEGIES = ["simple", "first", "average", "max"]


class DocumentedTruncation:
    """A tokenizers.Tokenizer whose encode_batch truncates after encoding (post_process), as in tokenizers <= 0.22.2."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def encode_batch(self, inputs, add_special_tokens=True, is_pretokenized=False):
        truncation = self._inner.truncation
        if truncation is None:
            return self._inner.encode_batch(
                inputs, add_special_tokens=add_special_tokens, is_pretokenized=is_pretokenized
            )
        self._inner.no_truncation()
        try:
            whole = self._inner.encode_batch(inputs, add_special_tokens=False, is_pretokenized=is_pretokenized)
        finally:
            self._inner.enable_truncation(**truncation)
        return [self._inner.post_process(e, None, add_special_tokens) for e in whole]


def main():
    torch.manual_seed(0)
    cases = []
    for name, path in MODELS.items():
        model = AutoModelForTokenClassification.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
        model.eval()
        for window, stride in WINDOWS:
            tokenizer = AutoTokenizer.from_pretrained(path)
            tokenizer.model_max_length = window
            tokenizer._tokenizer = DocumentedTruncation(tokenizer._tokenizer)
            for strategy in STRATEGIES:
                pipe = TokenClassificationPipeline(
                    model=model, tokenizer=tokenizer, aggregation_strategy=strategy, stride=stride
                )
                for text in TEXTS:
                    with torch.no_grad():
                        out = pipe(text)
                    entities = [
                        {k: (float(v) if k == "score" else v) for k, v in e.items()} for e in out
                    ]
                    cases.append(
                        {
                            "model": name,
                            "window": window,
                            "stride": stride,
                            "aggregation_strategy": strategy,
                            "text": text,
                            "entities": entities,
                        }
                    )
    doc = {
        "generated_by": (
            f"scripts/hf-stride-reference.py: transformers {transformers.__version__} TokenClassificationPipeline"
            "(aggregation_strategy=S, stride=N) with tokenizer.model_max_length=W, "
            f"tokenizers {tokenizers.__version__}, torch {torch.__version__} CPU, eager attention, float32; "
            "overflow windows as tokenizers <= 0.22.2 made them (tokenizers#2091 worked around, see the script)"
        ),
        "note": "scores are float32 values printed as doubles; start/end are Unicode code-point offsets",
        "cases": cases,
    }
    out_path = os.path.join(ROOT, "test", "reference", "hf-stride.json")
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"{len(cases)} cases -> {out_path}")


if __name__ == "__main__":
    main()
