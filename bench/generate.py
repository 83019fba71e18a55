"""Generation benchmark: instruction tuning, preference tuning, generation and serving speed.

Parts (each writes its keys into bench/results/generate.json, keeping the others):
  sft    the packaged SmolLM2-135M-Instruct zero-shot and few-shot against LoRA and full
         fine-tuning on the construction-faq catalog set (bench/generate_quality.py):
         sft_rouge_gain (LoRA over the better prompted base, ROUGE-L points), lora_rouge_gap
         (full minus LoRA), training tokens/s;
  dpo    DPO from the LoRA bundle: dpo_pref_accuracy on held-out pairs and the ROUGE-L change
         (each run is kept in dpo_runs; the headline is the best on validation pairs);
  speed  16 mixed-length prompts, 128 new tokens, greedy (bench/generate_speed.py):
         gen_ratio_vs_transformers (bizlm's batched decoder over a plain model.generate loop)
         and gen_ratio_vs_llamacpp (over llama-cpp-python on the GGUF export, where installed);
  serve  8 concurrent streaming clients through the openai client: stream_ttft_p50_ms and
         served_tokens_ratio (served tokens/s over offline batched tokens/s).
Run: BIZLM_HOME=... python bench/generate.py --part sft dpo speed serve [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import generate_quality, generate_speed  # noqa: E402
from bench.machine import describe_machine  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "generate.json"
RECIPE = ROOT / "recipes" / "construction-faq-generate.yaml"
SET = "construction-faq"
TARGETS = {
    "sft_rouge_gain": ">= 5 points",
    "lora_rouge_gap": "<= 1.5 points",
    "dpo_pref_accuracy": ">= 0.65 (ROUGE-L may fall by at most 1 point)",
    "gen_ratio_vs_transformers": ">= 3",
    "gen_ratio_vs_llamacpp": "report whichever is faster",
    "served_tokens_ratio": ">= 0.7",
}


def base_predictor(max_length: int = 1024) -> Any:
    """The packaged chat model as a predictor (no fine-tuning)."""
    from transformers import AutoTokenizer

    from bizlm.backbones import resolve_model
    from bizlm.bundle_info import BundleInfo
    from bizlm.tasks.generate_predictor import CausalLM, GeneratePredictor

    folder = resolve_model("smollm2")
    recipe = {"decoding": {"max_new_tokens": 112}}
    return GeneratePredictor(
        CausalLM.from_pretrained(folder).eval(),
        AutoTokenizer.from_pretrained(folder),
        [],
        max_length,
        BundleInfo(labels=[], recipe=recipe),
    )


def gguf_files(predictor: Any, work: Path) -> dict[str, Path]:
    """GGUF exports of the base model for llama.cpp (none when llama-cpp-python is missing)."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        print(f"llama.cpp comparison skipped: {exc}")
        return {}
    from bizlm.compress.gguf_writer import write_gguf

    work.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind in ("f16", "q8_0"):
        files[kind] = work / f"smollm2-{kind}.gguf"
        write_gguf(predictor.model, predictor.tokenizer, files[kind], kind, backbone="smollm2")
    return files


def speed_keys(result: dict[str, Any]) -> dict[str, Any]:
    """The ratio keys of the offline speed part."""
    bizlm = result["bizlm_batch"]["tokens_per_s"]
    keys = {
        "gen_ratio_vs_transformers": round(bizlm / result["transformers_loop"]["tokens_per_s"], 2)
    }
    llama = [k for k in result if k.startswith("llamacpp_")]
    if llama:
        fastest = max(llama, key=lambda k: result[k]["tokens_per_s"])
        keys["gen_ratio_vs_llamacpp"] = round(bizlm / result[fastest]["tokens_per_s"], 2)
        keys["gen_ratio_vs_llamacpp_against"] = fastest
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", nargs="+", choices=["sft", "dpo", "speed", "serve"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--dpo-learning-rate", type=float, help="DPO learning rate (default: the method's)"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-generate")
    args = parser.parse_args()
    from bizlm.atomic import atomic_write_text
    from bizlm.data.catalog import fetch

    folder = fetch(SET)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.update(machine=describe_machine(), targets=TARGETS, dataset=SET)
    results["gpu"] = "none: no GPU machine was available to this run"
    lora_bundle = args.work / "sft-lora"
    for part in args.part:
        if part == "sft":
            sft = generate_quality.sft(RECIPE, folder, args.work, base_predictor())
            results["sft"] = sft
            results.update({k: sft[k] for k in ("sft_rouge_gain", "lora_rouge_gap")})
        elif part == "dpo":
            rouge = results["sft"]["lora"]["test"]["rouge_l"]
            runs = results.setdefault("dpo_runs", [])
            runs.append(
                generate_quality.dpo(
                    folder, args.work / "dpo-data", lora_bundle, rouge, args.dpo_learning_rate
                )
            )
            # the headline run is chosen on validation pairs, never on the test pairs
            best = max(runs, key=lambda run: run["validation"]["preference_accuracy"])
            results["dpo"] = best
            results["dpo_pref_accuracy"] = round(best["dpo_pref_accuracy"], 3)
            results["dpo_rouge_change_points"] = best["rouge_change_points"]
        elif part == "speed":
            rows = generate_quality.read_split(folder, "test")
            prompts = generate_speed.mixed_prompts(rows)
            base = base_predictor()
            speed = generate_speed.offline(base, prompts, args.rounds, gguf_files(base, args.work))
            results["speed"] = speed
            results.update(speed_keys(speed))
        elif part == "serve":
            rows = generate_quality.read_split(folder, "test")
            serve = generate_speed.served(lora_bundle, [row["prompt"] for row in rows])
            results["serve"] = serve
            results.update({k: serve[k] for k in ("stream_ttft_p50_ms", "served_tokens_ratio")})
        results.setdefault("parts_run", {})[part] = dt.datetime.now(dt.UTC).isoformat()
        atomic_write_text(RESULTS, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps({k: results.get(k) for k in TARGETS}, indent=2))


if __name__ == "__main__":
    main()
