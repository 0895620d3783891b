"""Download a released benchmark (RMB at its pinned commit) into resources/ and verify it."""

from rmeval.data.download import download_rmb
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    dl = cfg.benchmark.download
    out = download_rmb(dl.url, io_path(cfg, "out"), subdir=dl.subdir, timeout_s=dl.timeout_s)
    print(f"downloaded {dl.repo}@{dl.commit} to {out} and verified file list and record counts")


if __name__ == "__main__":
    main()
