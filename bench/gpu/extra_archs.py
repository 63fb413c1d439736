"""Phase 7 of the GPU run (optional, when 2 minutes are left): reference logits from Hugging Face transformers
for small seeded token-classification checkpoints of four more architectures -- DistilBERT, ELECTRA, RoBERTa
and XLM-RoBERTa -- for a later item that teaches wgbert those architectures.

    extra_archs.py --tokenizers DIR --out OUTDIR --results RESULTS.jsonl [--cpu]

Per architecture: a small config (hidden 64, 2 layers, 4 heads; ELECTRA's embeddings 32 wide, so its
projection is exercised), weights from transformers' own initialisation under torch.manual_seed, the
tokenizer trained at pack time (bench/gpu/extraTokenizers.ts, DIR/<arch>.tokenizer.json), and four fixed
texts, batched with right padding. The model runs in eval mode in float32 with TF32 off, on CUDA when there
is one (else the CPU). Written: OUTDIR/extra/<arch>.tar (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json, reference.json with the texts, ids, mask, tokens, offsets and the logits' shape,
logits.f32: the logits as little-endian float32), 1-3 MB each (at most 16 MB), and one line per architecture
in RESULTS. Without torch / transformers it records why it skipped.
"""
import argparse
import io
import json
import os
import sys
import tarfile
import tempfile
import time

ARCHS = ["distilbert", "electra", "roberta", "xlm-roberta"]
LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
TEXTS = [
    "Jane Smith of London ordered 40 office chairs from Acme Corporation of Berlin.",
    "The model runs on WebGPU, or on the CPU.",
    "Peter Blackburn said on Thursday that Germany imported 47,600 sheep.",
    "Zürich and São Paulo — naïve café prices: 3.50 € (about 4 $).",
]
MAX_BYTES = 16 * 2**20


def emit(results, **rec):
    with open(results, "a") as f:
        f.write(json.dumps({"phase": "extra", **rec}) + "\n")


def config_of(transformers, arch, vocab, specials):
    common = dict(
        vocab_size=vocab,
        num_labels=len(LABELS),
        id2label={i: l for i, l in enumerate(LABELS)},
        label2id={l: i for i, l in enumerate(LABELS)},
        initializer_range=0.1,
    )
    if arch == "distilbert":
        return transformers.DistilBertConfig(
            dim=64, n_layers=2, n_heads=4, hidden_dim=128, max_position_embeddings=128, pad_token_id=0, **common
        )
    bert_like = dict(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, hidden_act="gelu"
    )
    if arch == "electra":
        return transformers.ElectraConfig(
            embedding_size=32, max_position_embeddings=128, pad_token_id=0, **bert_like, **common
        )
    cls = transformers.RobertaConfig if arch == "roberta" else transformers.XLMRobertaConfig
    # position ids start after the pad id (1): 128 tokens need 130 positions
    return cls(
        max_position_embeddings=130, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        **bert_like, **common,
    )


def model_class(transformers, arch):
    return {
        "distilbert": transformers.DistilBertForTokenClassification,
        "electra": transformers.ElectraForTokenClassification,
        "roberta": transformers.RobertaForTokenClassification,
        "xlm-roberta": transformers.XLMRobertaForTokenClassification,
    }[arch]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--cpu", action="store_true")
    a = ap.parse_args()
    try:
        import numpy as np
        import torch
        import transformers
    except Exception as e:  # the rehearsal's Python may have neither: say so, as the torch phase does
        emit(a.results, event="extra", skipped=f"PyTorch / transformers not available: {type(e).__name__}: {e}")
        return
    transformers.utils.logging.disable_progress_bar()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = "cuda" if torch.cuda.is_available() and not a.cpu else "cpu"
    os.makedirs(os.path.join(a.out, "extra"), exist_ok=True)
    for i, arch in enumerate(ARCHS):
        t0 = time.time()
        try:
            tok_file = os.path.join(a.tokenizers, f"{arch}.tokenizer.json")
            bert = arch in ("distilbert", "electra")
            names = (
                dict(pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
                if bert
                else dict(
                    bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>", mask_token="<mask>",
                    cls_token="<s>", sep_token="</s>",
                )
            )
            tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_file=tok_file, model_max_length=128, **names)
            config = config_of(transformers, arch, len(tokenizer), names)
            torch.manual_seed(1234 + i)
            model = model_class(transformers, arch)(config).eval().to(device)
            enc = tokenizer(TEXTS, padding=True, return_offsets_mapping=True, return_tensors="pt")
            feed = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
            if "token_type_ids" in enc and arch != "distilbert":
                feed["token_type_ids"] = enc["token_type_ids"]
            with torch.no_grad():
                logits = model(**{k: v.to(device) for k, v in feed.items()}).logits.float().cpu().numpy()
            with tempfile.TemporaryDirectory() as d:
                model.to("cpu").save_pretrained(d, safe_serialization=True)
                tokenizer.save_pretrained(d)
                ref = {
                    "architecture": model_class(transformers, arch).__name__,
                    "transformers": transformers.__version__,
                    "torch": torch.__version__,
                    "device": device,
                    "seed": 1234 + i,
                    "texts": TEXTS,
                    "input_ids": enc["input_ids"].tolist(),
                    "attention_mask": enc["attention_mask"].tolist(),
                    "offsets": enc["offset_mapping"].tolist(),
                    "tokens": [tokenizer.convert_ids_to_tokens(r) for r in enc["input_ids"].tolist()],
                    "logits_file": "logits.f32",
                    "logits_shape": list(logits.shape),
                }
                with open(os.path.join(d, "reference.json"), "w") as f:
                    json.dump(ref, f, indent=1)
                logits.astype("<f4").tofile(os.path.join(d, "logits.f32"))
                tar_path = os.path.join(a.out, "extra", f"{arch}.tar")
                with tarfile.open(tar_path, "w") as tar:
                    for name in sorted(os.listdir(d)):
                        tar.add(os.path.join(d, name), arcname=f"{arch}/{name}")
            size = os.path.getsize(tar_path)
            if size > MAX_BYTES:
                os.remove(tar_path)
                raise RuntimeError(f"{arch}.tar is {size} bytes, over {MAX_BYTES}")
            emit(
                a.results, event="extra", arch=arch, file=f"extra/{arch}.tar", bytes=size, device=device,
                logits_shape=list(logits.shape), max_abs_logit=float(np.abs(logits).max()),
                seconds=round(time.time() - t0, 2),
            )
        except Exception as e:  # one architecture failing leaves the others
            emit(a.results, event="extra", arch=arch, error=f"{type(e).__name__}: {e}"[:500])
            print(f"extra {arch}: {type(e).__name__}: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
