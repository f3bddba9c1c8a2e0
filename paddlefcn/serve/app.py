"""``create_app``: the FastAPI app serving an exported model (``POST /predict``, health, model, metrics, demo page)."""

from __future__ import annotations

import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from paddlefcn.deploy.manifest import read_deploy_config
from paddlefcn.errors import PaddleFCNError
from paddlefcn.serve import ServeLimits
from paddlefcn.serve.batcher import MicroBatcher
from paddlefcn.serve.model_process import ModelProcess
from paddlefcn.serve.monitoring import CONTENT_TYPE, ServeMetrics
from paddlefcn.serve.request import RequestError, decode_upload, read_upload
from paddlefcn.serve.responses import MEDIA_TYPES, class_counts, error_response, mask_png, model_info, overlay_jpeg
from paddlefcn.utils.palette import color_table

STATIC_DIR = Path(__file__).resolve().parent / "static"
logger = logging.getLogger("paddlefcn.serve")


def create_app(
    model_dir: str | os.PathLike,
    max_batch: int = ServeLimits.max_batch,
    max_queue: int = ServeLimits.max_queue,
    max_pixels: int = ServeLimits.max_pixels,
    max_upload_mb: int = ServeLimits.max_upload_mb,
    **predictor_options: object,
) -> FastAPI:
    """The app serving the export in ``model_dir``, its model loaded and run once before this returns.

    The model runs in a child process (``ModelProcess``), started here and stopped when the app shuts down;
    an app serves one lifespan.

    Args:
        model_dir: A directory written by ``tools/export.py``.
        max_batch: Most images per model run; 1 turns micro-batching off.
        max_queue: Most images waiting for the model; more are answered 503.
        max_pixels: Most pixels per image, checked on its header; more are answered 413.
        max_upload_mb: Largest request body in MiB; more is answered 413.
        **predictor_options: ``Predictor`` arguments (``backend``, ``device``, ``cpu_threads``, ``onednn`` ...).

    Raises:
        PaddleFCNError: One line for a missing or broken model dir, a model that does not match its
            ``deploy.yaml``, or a bad limit or option.
    """
    limits = ServeLimits(max_batch, max_queue, max_pixels, max_upload_mb)
    read_deploy_config(model_dir)  # a missing or broken export fails before a process is started for it
    model = ModelProcess(model_dir, max_batch, predictor_options)
    deploy = model.summary.deploy
    try:
        table = color_table(deploy.palette)
    except PaddleFCNError:
        model.close()
        raise
    batcher = MicroBatcher(model.predict, model.summary.batch_size, max_queue)
    metrics = ServeMetrics(model.summary.batch_size, batcher.depth)
    batcher.on_batch = metrics.observe_batch
    info = model_info(model.summary, limits)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        try:
            yield
        finally:
            batcher.stop()
            model.close()

    app = FastAPI(title="paddlefcn", summary=model.summary.runtime, lifespan=lifespan)
    app.state.batcher = batcher
    app.state.model = model
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    async def run_predict(request: Request, output: str) -> Response:
        if output not in MEDIA_TYPES:
            raise RequestError(400, f"unknown format '{output}' (known: {', '.join(MEDIA_TYPES)})")
        data = await read_upload(request, limits.max_upload_bytes)
        image = await run_in_threadpool(decode_upload, data, limits.max_pixels)
        labels = await batcher.submit(image)
        if output == "json":
            counts = await run_in_threadpool(class_counts, labels, deploy.class_names, deploy.palette)
            return JSONResponse(counts)
        if output == "overlay":
            body = await run_in_threadpool(overlay_jpeg, image, labels, deploy.palette)
        else:
            body = await run_in_threadpool(mask_png, labels, table)
        return Response(body, media_type=MEDIA_TYPES[output])

    @app.post("/predict")
    async def predict(request: Request, output: str = Query("png", alias="format")) -> Response:
        """Segments the uploaded image: ``format=png`` (palette mask), ``overlay`` (JPEG) or ``json`` (counts)."""
        start = time.perf_counter()
        try:
            response = await run_predict(request, output)
        except RequestError as err:
            response = error_response(err.status, str(err))
        except PaddleFCNError as err:  # the model refuses this image (e.g. a fixed-size export)
            response = error_response(422, str(err))
        except Exception as err:  # the model failed; answered, logged, and the server keeps serving
            logger.exception("POST /predict failed")
            response = error_response(500, f"internal error: {type(err).__name__}: {err}")
        metrics.requests.labels(str(response.status_code)).inc()
        if response.status_code == 200:
            metrics.latency.observe(time.perf_counter() - start)
        return response

    @app.get("/health")
    async def health() -> Response:
        """``ok`` while the model process and the thread feeding it run, else 503."""
        if not (batcher.alive and model.alive):
            return error_response(503, "the model is not running")
        return JSONResponse({"status": "ok", "queue_depth": batcher.depth()})

    @app.get("/model")
    async def describe_model() -> dict:
        """Classes, palette, transforms, backend and versions of the served model."""
        return info

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus metrics in the text format."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> Response:
        return error_response(err.status_code, str(err.detail))

    return app
