"""Command line (``python -m spectral_nb`` or ``spectral-nb``):

  book [--quick] [--chapters 01 03]       run the chapters in order, headless
  classify PHOTO_OR_FOLDER... [--json]    classify spectroscope photos with the trained model
  export --format tflite|savedmodel       export the trained model for serving
  adapt FOLDER [--out PATH]               fine-tune the model on a labelled folder of your own photos
"""
from __future__ import annotations

import argparse
import os
import sys

from spectral_nb.book import CHAPTERS, run_book


def _add_classify(sub) -> None:
    from spectral_nb.cli import DEFAULT_THRESHOLD

    classify = sub.add_parser(
        "classify", help="classify spectroscope photos (files or folders) with the trained model",
        description="Crop each photo to a strip with chapter 02's parameters and classify it with chapter 04's "
                    "model. Exit status: 0 every photo classified, 1 some photo could not be read or cropped, "
                    "2 usage error.")
    classify.add_argument("paths", nargs="+", metavar="PHOTO_OR_FOLDER",
                          help="photos, or folders searched recursively for png, jpg, jpeg, bmp, tif, tiff, webp")
    classify.add_argument("--model", metavar="PATH", help="a .keras model (default: OutputModel/spectral_cnn.keras, "
                          "which `make book` trains)")
    classify.add_argument("--params", metavar="PATH", help="preprocessing parameters saved by chapter 02 (default: "
                          "InputData/preprocess_params.json if it exists, else the defaults)")
    classify.add_argument("--json", action="store_true", help="one JSON object per photo and line")
    classify.add_argument("--calibrate", action="store_true",
                          help="add chapter 06's pixel -> nm map and identified lines for the predicted lamp")
    classify.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="P",
                          help=f"call a photo 'unknown' when its top probability is below P (default {DEFAULT_THRESHOLD})")


def _add_export(sub) -> None:
    from spectral_nb.export import FORMATS, QUANTIZATIONS

    export = sub.add_parser(
        "export", help="export the trained model as TensorFlow Lite or a SavedModel",
        description="Both take uint8 strips (N, 15, 480, 3) and give (N, 7) probabilities, as the .keras model.")
    export.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
    export.add_argument("--model", metavar="PATH", help="a .keras model (default: OutputModel/spectral_cnn.keras)")
    export.add_argument("--out", metavar="PATH", help="output file or folder (default: beside the model, "
                        "spectral_cnn.tflite, spectral_cnn_int8.tflite or spectral_cnn_savedmodel/)")
    export.add_argument("--quantize", choices=QUANTIZATIONS, help="TFLite only: float (default) or int8 post-training "
                        "quantisation calibrated on synthetic strips")
    export.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _add_adapt(sub) -> None:
    adapt = sub.add_parser(
        "adapt", help="fine-tune the trained model on a labelled folder of your own spectroscope's photos",
        description="Cut each photo of FOLDER to a strip (chapter 02's parameters), fine-tune a copy of the book's "
                    "model on them with synthetic strips replayed (chapter 07's recipe) and save it under its own "
                    "name; the book's model is not changed. FOLDER holds one sub-folder per label (0_LED, "
                    "1_mercury, ...) or a labels.csv of path,label. Exit status: 0 saved, 1 no photo gave a strip, "
                    "2 usage error.")
    adapt.add_argument("folder", metavar="FOLDER")
    adapt.add_argument("--model", metavar="PATH", help="the model to adapt (default: OutputModel/spectral_cnn.keras)")
    adapt.add_argument("--params", metavar="PATH", help="preprocessing parameters saved by chapter 02 (default: "
                       "InputData/preprocess_params.json if it exists, else the defaults)")
    adapt.add_argument("--out", metavar="PATH", help="where to save (default: beside the model, "
                       "spectral_cnn_adapted_<folder>.keras, with a .json of what it was adapted on)")
    adapt.add_argument("--overwrite", action="store_true", help="replace an existing adapted model")
    adapt.add_argument("--seed", type=int, default=0)
    adapt.add_argument("--steps", type=int, default=None, help="fine-tuning steps (default: chapter 07's)")


def main(argv: list[str] | None = None) -> int:
    prog = "spectral-nb" if os.path.basename(sys.argv[0]) == "spectral-nb" else "python -m spectral_nb"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    book = sub.add_parser("book", help="execute the notebooks in order, headless, and report times")
    book.add_argument("--quick", action="store_true", help="small sizes (as the tests use); "
                      "executed copies go to OutputModel/quick/book/, the committed book is untouched")
    book.add_argument("--chapters", nargs="*", metavar="NN",
                      help="chapter numbers to run (default: all, in order)")
    _add_classify(sub)
    _add_export(sub)
    _add_adapt(sub)
    args = parser.parse_args(argv)
    if args.command == "book":
        chapters = CHAPTERS
        if args.chapters:
            wanted = {c.zfill(2) for c in args.chapters}
            chapters = tuple(c for c in CHAPTERS if c[:2] in wanted)
            if not chapters:
                parser.error(f"no chapter numbered {', '.join(sorted(wanted))}; have "
                             + ", ".join(c[:2] for c in CHAPTERS))
        timings = run_book(quick=args.quick, chapters=chapters)
        total = sum(s for _, s in timings)
        print(f"\n{'chapter':<40} {'seconds':>8}")
        for name, seconds in timings:
            print(f"{name:<40} {seconds:8.1f}")
        print(f"{'total':<40} {total:8.1f}")
        return 0
    # TensorFlow's C++ log lines are not for a user of the command; set before it is imported
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    if args.command == "classify":
        from spectral_nb.cli import run_classify

        return run_classify(args.paths, args.model, args.params, as_json=args.json, calibrate=args.calibrate,
                            threshold=args.threshold)
    if args.command == "adapt":
        from spectral_nb.adapt import run_adapt

        return run_adapt(args.folder, args.model, args.params, args.out, args.overwrite, args.seed, args.steps)
    from spectral_nb.export import run_export

    return run_export(args.fmt, args.model, args.out, args.quantize, args.overwrite)


if __name__ == "__main__":
    sys.exit(main())
