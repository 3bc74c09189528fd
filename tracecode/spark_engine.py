"""The spark-submit entry file: ``tracecode check --engine spark`` as a script (docs/SPARK.md)::

    spark-submit --master yarn "$(python -c 'import tracecode.spark_engine as m; print(m.__file__)')" \\
        --input hdfs:///lake --month 2026-10 --out out/

The work is in :mod:`tracecode.spark` (engine, layout, session) and :mod:`tracecode.commands.spark`
(the options)."""

if __name__ == "__main__":  # pragma: no cover
    import os
    import sys

    # Run as a script, Python puts this folder first on sys.path: drop it, or tracecode's modules
    # would shadow standard ones.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]

    from tracecode.commands.spark import main

    main()
