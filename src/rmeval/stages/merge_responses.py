"""Join one policy's shard response files into results/construct/{prompts}/responses/{policy}.parquet.

io.prompts: the prompt set (the order and completeness check); io.shards: the shard files
(results/construct/{prompts}/responses/{policy}/shard-{i}-of-{K}.parquet); io.out: the responses file.
"""

import pandas as pd

from rmeval.io import write_parquet
from rmeval.sharding import merge_response_shards
from rmeval.stages._entry import entry, io_path, io_paths


@entry
def main(cfg):
    paths = io_paths(cfg, "shards")
    prompts = pd.read_parquet(io_path(cfg, "prompts"), columns=["prompt_id"])
    merged = merge_response_shards(prompts, [pd.read_parquet(p) for p in paths], paths)
    print(f"{len(merged)} samples of {len(prompts)} prompts from {len(paths)} shards")
    write_parquet(merged, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
