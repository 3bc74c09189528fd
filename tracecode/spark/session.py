"""The SparkSession tracecode runs in, and Spark failures as one clear error."""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from tracecode.errors import TracecodeError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


_LOG4J2 = """\
rootLogger.level = {level}
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{HH:mm:ss}} %p %c{{1}}: %m%n%ex
"""


def _log4j2_file(level: str) -> str:
    import tempfile

    path = Path(tempfile.gettempdir()) / f"tracecode-spark-log4j2-{level.lower()}.properties"
    if not path.exists():
        path.write_text(_LOG4J2.format(level=level), encoding="utf-8")
    return str(path)


def spark_session(master: str | None = None, *, app_name: str = "tracecode", shuffle_partitions: int | None = None,
                  conf: dict[str, str] | None = None, log_level: str | None = None) -> "SparkSession":
    """A SparkSession for tracecode. ``master`` None: the one spark-submit configured, else
    ``local[*]``. Timestamps are wall-clock values (TIMESTAMP_NTZ, session time zone UTC).
    ``log_level`` (default $TRACECODE_SPARK_LOG or WARN): Spark's own log on stderr; the CLI
    uses OFF, errors reach the user as one line anyway."""
    log_level = (log_level or os.environ.get("TRACECODE_SPARK_LOG") or "WARN").upper()
    try:
        from pyspark import SparkConf
        from pyspark.sql import SparkSession
    except ImportError:
        raise TracecodeError("the Spark engine needs PySpark", hint="pip install 'pyspark>=4.0'") from None
    import shutil

    if not os.environ.get("JAVA_HOME") and not shutil.which("java"):
        raise TracecodeError("the Spark engine needs Java (17 or 21): no java on PATH and JAVA_HOME unset",
                             hint="install a JDK, e.g. apt-get install openjdk-17-jre-headless")
    # PySpark warns about pandas 3 whenever a mapInArrow is defined; tracecode hands it Arrow
    # batches only (no pandas conversion), so the warning says nothing about tracecode's results.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    builder = SparkSession.builder.appName(app_name)
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Run by spark-submit: its JVM is up, holding --master and --conf; connect first, or
        # SparkConf() below would not see them (and --master yarn would become local[*]).
        from pyspark import SparkContext

        SparkContext._ensure_initialized()
    submitted = SparkConf()
    if master:
        builder = builder.master(master)
    elif not submitted.contains("spark.master"):
        master = "local[*]"
        builder = builder.master(master)
    local = (master or submitted.get("spark.master", "")).startswith("local")
    settings = {
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.adaptive.enabled": "true",
        # Checkpointed stages carry their source's constraints; Spark 4 then fails to map them in
        # a UNION of two such stages (UnionBase.rewriteConstraints: "key not found"). Inferring
        # filters from constraints buys nothing here: every stage filters explicitly.
        "spark.sql.constraintPropagation.enabled": "false",
    }
    if local and not os.environ.get("PYSPARK_PYTHON") and not submitted.contains("spark.pyspark.python"):
        # Python tasks (reading upload files) must import tracecode: run them in this interpreter
        # (PySpark reads the variable when the context starts; the conf only reaches spark-submit).
        os.environ["PYSPARK_PYTHON"] = sys.executable
    if local:  # one JVM is driver and executor: give it room, and few shuffle partitions
        if not submitted.contains("spark.driver.memory"):
            settings["spark.driver.memory"] = "2g"
        if not submitted.contains("spark.sql.shuffle.partitions"):
            settings["spark.sql.shuffle.partitions"] = "8"
    if shuffle_partitions:
        settings["spark.sql.shuffle.partitions"] = str(int(shuffle_partitions))
    if local and not submitted.contains("spark.driver.extraJavaOptions"):
        settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={_log4j2_file(log_level)}"
    conf = dict(conf or {})
    if "spark.driver.extraJavaOptions" in conf and "spark.driver.extraJavaOptions" in settings:
        conf["spark.driver.extraJavaOptions"] += " " + settings["spark.driver.extraJavaOptions"]
    settings.update(conf)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: say so in one line
        raise TracecodeError(f"cannot start Spark: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                             hint="check Java (java -version) and --master") from None
    spark.sparkContext.setLogLevel(log_level)
    return spark


def spark_failure(exc: BaseException) -> TracecodeError | None:
    """A Spark or Py4J error as one clear TracecodeError (None when ``exc`` is not one)."""
    kind = type(exc).__module__ or ""
    if not (kind.startswith("pyspark") or kind.startswith("py4j")):
        return None
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    python_error = [ln for ln in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", ln)
                    and not ln.startswith(("org.apache", "java.", "py4j"))]
    hint = None
    if any("No module named 'tracecode'" in ln for ln in lines):
        hint = ("the executors' Python cannot import tracecode: install it there (pip install tracecode) or "
                "point spark.pyspark.python at a Python that has it")
    elif any("OutOfMemoryError" in ln for ln in lines):
        hint = "give Spark more memory: --spark-conf spark.driver.memory=8g (local) or spark.executor.memory"
    first = python_error[-1] if python_error else (lines[0] if lines else type(exc).__name__)
    return TracecodeError(f"Spark failed: {first[:500]}", hint=hint)
