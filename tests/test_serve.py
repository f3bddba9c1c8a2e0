"""The HTTP server through the ASGI test client: answers equal the Predictor's, bad input gets one-line 4xx errors."""

import asyncio
import html.parser
import io
import os
import re
import signal
import threading
import time

import numpy as np
import paddle
import pytest
import yaml
from PIL import Image
from serve_fixtures import encode, export_tiny_model, image_kinds, png_declaring, smooth_image
from tool_helpers import run_in_process

import paddlefcn
from paddlefcn.data import read_image
from paddlefcn.deploy import Predictor
from paddlefcn.utils.palette import color_table
from paddlefcn.utils.visualize import overlay

pytest.importorskip("fastapi", reason="needs the serve extra: pip install -e '.[serve]'")
from fastapi.testclient import TestClient  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from paddlefcn.serve import create_app  # noqa: E402
from paddlefcn.serve.batcher import MicroBatcher  # noqa: E402

MAX_PIXELS = 100_000
SIZES = {"a.png": (97, 131), "b.jpg": (64, 96), "c.bmp": (45, 70)}


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return export_tiny_model(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    directory = tmp_path_factory.mktemp("images")
    for seed, (name, (height, width)) in enumerate(SIZES.items()):
        Image.fromarray(smooth_image(height, width, seed)).save(directory / name)
    return directory


@pytest.fixture(scope="module")
def predictor(export_dir):
    return Predictor(export_dir)


@pytest.fixture(scope="module")
def client(export_dir):
    with TestClient(create_app(export_dir, max_batch=4, max_queue=4, max_pixels=MAX_PIXELS, max_upload_mb=1)) as c:
        yield c


def upload(path):
    return {"files": {"file": (path.name, path.read_bytes(), "application/octet-stream")}}


def decoded(response):
    with Image.open(io.BytesIO(response.content)) as image:
        return image.mode, np.asarray(image), image.getpalette()


def counters(client):
    """``{status: count}`` of ``paddlefcn_predict_requests_total`` from GET /metrics."""
    families = text_string_to_metric_families(client.get("/metrics").text)
    family = next(f for f in families if f.name == "paddlefcn_predict_requests")
    return {s.labels["status"]: s.value for s in family.samples if s.name.endswith("_total")}


@pytest.mark.parametrize("name", list(SIZES))
@pytest.mark.parametrize("how", ["multipart", "raw"])
def test_mask_is_the_predictors_at_the_image_size(client, predictor, images, name, how):
    path = images / name
    if how == "multipart":
        response = client.post("/predict", **upload(path))
    else:
        response = client.post("/predict", content=path.read_bytes(), headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    mode, mask, palette = decoded(response)
    assert mode == "P", "the mask is a palette PNG whose pixel values are the classes"
    expected = predictor.predict([read_image(path)])[0]
    assert mask.shape == SIZES[name]
    np.testing.assert_array_equal(mask, expected)
    assert palette[: 3 * 3] == color_table(predictor.palette)[:3].ravel().tolist()


def test_the_server_and_infer_give_the_same_masks_for_every_kind_of_image(client, export_dir, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, data in image_kinds(smooth_image(57, 83, seed=3)).items():
        (inputs / name).write_bytes(data)
    argv = ["--model-dir", export_dir, "--input", inputs, "--save-dir", tmp_path / "masks"]
    assert run_in_process("infer", *argv) == 0
    for path in sorted(inputs.iterdir()):
        response = client.post("/predict", **upload(path))
        assert response.status_code == 200, response.text
        with Image.open(tmp_path / "masks" / f"{path.stem}.png") as written:
            np.testing.assert_array_equal(decoded(response)[1], np.asarray(written), err_msg=path.name)


def test_several_classes_are_predicted(client, images):
    _, mask, _ = decoded(client.post("/predict", **upload(images / "a.png")))
    assert len(np.unique(mask)) >= 2, "the test model must predict several classes"


def test_overlay_is_the_blend_of_the_image_and_its_mask(client, predictor, images):
    path = images / "a.png"
    response = client.post("/predict?format=overlay", **upload(path))
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(response.content)) as jpeg:
        assert jpeg.format == "JPEG" and jpeg.size == (131, 97)
        got = np.asarray(jpeg.convert("RGB")).astype(np.int32)
    image = read_image(path)
    expected = overlay(image, predictor.predict([image])[0], predictor.palette).astype(np.int32)
    off_overlay, off_image = np.abs(got - expected).mean(), np.abs(got - image).mean()
    assert off_overlay < 5 and off_overlay < off_image / 4, (off_overlay, off_image)


def test_json_gives_size_and_counts_per_class(client, predictor, images):
    path = images / "b.jpg"
    response = client.post("/predict?format=json", **upload(path))
    assert response.status_code == 200
    answer = response.json()
    labels = predictor.predict([read_image(path)])[0]
    assert (answer["width"], answer["height"]) == (96, 64)
    assert [c["name"] for c in answer["classes"]] == predictor.class_names
    assert [c["color"] for c in answer["classes"]] == predictor.palette
    assert [c["pixels"] for c in answer["classes"]] == np.bincount(labels.ravel(), minlength=3).tolist()
    assert sum(c["share"] for c in answer["classes"]) == pytest.approx(1.0)
    assert answer["classes"][1]["share"] == pytest.approx(answer["classes"][1]["pixels"] / (64 * 96))


def png(image):
    return {"content": encode(image), "headers": {"Content-Type": "image/png"}}


def corrupt_png():
    data = bytearray(encode(smooth_image(40, 40)))
    start = data.find(b"IDAT") + 8
    data[start : start + 40] = bytes(40)
    return {"content": bytes(data), "headers": {"Content-Type": "image/png"}}


def form_without_file():
    body = b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--B--\r\n'
    return {"content": body, "headers": {"Content-Type": "multipart/form-data; boundary=B"}}


def chunked(data, pieces=8):
    step = len(data) // pieces + 1
    return iter([data[i : i + step] for i in range(0, len(data), step)])


BAD_INPUTS = {
    "not-an-image": (
        lambda: {"content": b"hello, server", "headers": {"Content-Type": "image/png"}},
        400,
        "not an image",
    ),
    "truncated": (lambda: png(smooth_image(60, 60))["content"][:300], 400, "corrupt or truncated image"),
    "corrupt": (corrupt_png, 400, "corrupt or truncated image"),
    "empty-body": (lambda: {"content": b""}, 400, "empty body"),
    "empty-file": (lambda: {"files": {"file": ("x.png", b"", "image/png")}}, 400, "uploaded file 'x.png' is empty"),
    "form-without-file": (form_without_file, 400, "multipart form holds no file"),
    "two-files": (
        lambda: {"files": [("a", ("a.png", encode(smooth_image(8, 8)))), ("b", ("b.png", encode(smooth_image(8, 8))))]},
        400,
        "malformed multipart body .*Too many files",
    ),
    "too-many-pixels": (lambda: png(smooth_image(300, 400)), 413, "image is 400x300 = 120000 pixels, more than"),
    "declares-huge-size": (lambda: png_declaring(8000, 8000), 413, "image is 8000x8000 = 64000000 pixels, more"),
    "decompression-bomb": (lambda: png_declaring(100_000, 100_000), 413, "image declares more pixels than the limit"),
    "wrong-content-type": (lambda: {"content": b"{}", "headers": {"Content-Type": "application/json"}}, 415, ""),
    "form-urlencoded": (lambda: {"data": {"image": "abc"}}, 415, "unsupported content type"),
    "upload-too-large": (lambda: {"content": bytes(3 << 19)}, 413, "upload larger than 1 MiB"),
    "chunked-too-large": (lambda: {"content": chunked(bytes(3 << 19))}, 413, "upload larger than 1 MiB"),
    "unknown-format": (lambda: {"content": encode(smooth_image(8, 8)), "params": {"format": "bmp"}}, 400, "unknown"),
}


def as_request(make):
    request = make()
    return request if isinstance(request, dict) else {"content": request}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_gets_a_one_line_4xx_and_the_next_request_is_served(client, images, case):
    make, status, message = BAD_INPUTS[case]
    before = counters(client)
    response = client.post("/predict", **as_request(make))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "\n" not in response.text and list(response.json()) == ["error"]
    assert re.search(message, response.json()["error"]), response.json()["error"]
    assert client.post("/predict", **upload(images / "c.bmp")).status_code == 200
    after = counters(client)
    assert after[str(status)] == before.get(str(status), 0) + 1
    assert after["200"] == before["200"] + 1


def test_unknown_routes_and_methods_answer_json(client):
    for response, status in ((client.get("/nothing"), 404), (client.get("/predict"), 405)):
        assert response.status_code == status and list(response.json()) == ["error"]


def test_metrics_report_latency_batches_and_queue(client, images):
    client.post("/predict", **upload(images / "a.png"))
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    samples = {s.name: s.value for f in families.values() for s in f.samples if not s.labels.get("le")}
    assert samples["paddlefcn_predict_latency_seconds_count"] == counters(client)["200"]
    assert samples["paddlefcn_batch_size_count"] >= 1 and samples["paddlefcn_batch_size_sum"] >= 1
    assert samples["paddlefcn_queue_depth"] == 0
    buckets = [s.labels["le"] for s in families["paddlefcn_batch_size"].samples if s.name.endswith("_bucket")]
    assert buckets == ["1.0", "2.0", "3.0", "4.0", "+Inf"], "one bucket per batch size up to --max-batch"


def test_health_and_model_describe_the_server(client, export_dir):
    assert client.get("/health").json() == {"status": "ok", "queue_depth": 0}
    info = client.get("/model").json()
    deploy = yaml.safe_load((export_dir / "deploy.yaml").read_text())
    assert info["classes"] == deploy["class_names"] and info["palette"] == deploy["palette"]
    assert info["transforms"] == deploy["transforms"] and info["output_op"] == "argmax"
    assert info["backend"] == "paddle" and info["runtime"].startswith("Paddle Inference")
    assert info["versions"] == {"paddlefcn": paddlefcn.__version__, "paddle": paddle.__version__}
    assert info["limits"] == {"max_batch": 4, "max_queue": 4, "max_pixels": MAX_PIXELS, "max_upload_mb": 1}


class Assets(html.parser.HTMLParser):
    """Collects the ``src`` and ``href`` attributes of a page."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_demo_page_is_served_with_local_assets_only(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = Assets()
    parser.feed(page.text)
    assert {"static/demo.js", "static/demo.css"} <= set(parser.urls)
    for url in parser.urls:
        assert not re.match(r"^([a-z]+:|//)", url), f"{url} is not a local asset"
        assert client.get(f"/{url}").status_code == 200, url
    script = client.get("/static/demo.js").text
    assert not re.search(r"https?:|//[a-z]", script.replace("// ", "")), "the page script loads nothing remote"
    assert "predict?format=${format}" in script and '"overlay"' in script and '"json"' in script


def gate(batcher):
    """Makes the batcher's model calls wait for ``release``; ``entered`` is set when one starts waiting."""
    entered, release = threading.Event(), threading.Event()
    predict = batcher.predict

    def gated(images):
        entered.set()
        assert release.wait(30)
        return predict(images)

    batcher.predict = gated
    return entered, release


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_full_queue_answers_503_and_then_serves_again(export_dir, images):
    app = create_app(export_dir, max_batch=1, max_queue=1)
    body = upload(images / "a.png")
    with TestClient(app) as client:
        entered, release = gate(app.state.batcher)
        answers = []
        running = threading.Thread(target=lambda: answers.append(client.post("/predict", **body)))
        running.start()
        assert entered.wait(30)
        waiting = threading.Thread(target=lambda: answers.append(client.post("/predict", **body)))
        waiting.start()
        wait_until(lambda: app.state.batcher.depth() == 1)
        refused = client.post("/predict", **body)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert re.match(r"server busy: 1 images are already waiting for the model", refused.json()["error"])
        release.set()
        running.join(30)
        waiting.join(30)
        assert [a.status_code for a in answers] == [200, 200]
        assert client.post("/predict", **body).status_code == 200
        assert counters(client) == {"200": 3.0, "503": 1.0}


def test_a_failing_model_answers_500_and_the_server_keeps_serving(client, images):
    batcher = client.app.state.batcher
    predict = batcher.predict

    def fail_once(batch):
        batcher.predict = predict
        raise RuntimeError("out of memory")

    batcher.predict = fail_once
    failed = client.post("/predict", **upload(images / "a.png"))
    assert failed.status_code == 500
    assert failed.json() == {"error": "internal error: RuntimeError: out of memory"}
    assert client.post("/predict", **upload(images / "a.png")).status_code == 200
    assert client.get("/health").status_code == 200


def test_a_killed_model_process_fails_its_batch_and_is_started_again(client, images):
    model = client.app.state.model
    os.kill(model.pid, signal.SIGKILL)
    wait_until(lambda: not model.alive)
    failed = client.post("/predict", **upload(images / "a.png"))
    assert failed.status_code == 500
    assert (
        failed.json()["error"]
        == "internal error: RuntimeError: the model process exited (exit code -9); started it again"
    )
    assert model.alive and client.get("/health").status_code == 200
    assert client.post("/predict", **upload(images / "a.png")).status_code == 200


def test_an_image_the_model_refuses_gets_422(images, tmp_path):
    fixed = export_tiny_model(tmp_path, input_shape=[1, 3, 64, 96])
    with TestClient(create_app(fixed)) as client:
        assert client.post("/predict", **upload(images / "b.jpg")).status_code == 200
        refused = client.post("/predict", **upload(images / "a.png"))
        assert refused.status_code == 422
        assert "exported for 64x96 inputs but preprocessing gives 97x131" in refused.json()["error"]


def test_the_batcher_runs_the_oldest_size_first_and_never_mixes_sizes():
    calls = []
    started, release = threading.Event(), threading.Event()

    def predict(images):
        calls.append([image.shape[:2] for image in images])
        if len(calls) == 1:
            started.set()
            release.wait(30)
        return [image[:, :, 0].astype(np.int32) for image in images]

    batcher = MicroBatcher(predict, max_batch=3, max_queue=8)
    sizes = [(4, 4), (8, 8), (4, 4), (4, 4), (8, 8), (4, 4), (4, 4)]
    images = [np.full((h, w, 3), index, dtype=np.uint8) for index, (h, w) in enumerate(sizes)]

    async def submit_all():
        first = asyncio.ensure_future(batcher.submit(np.zeros((2, 2, 3), np.uint8)))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 30)
        rest = [asyncio.ensure_future(batcher.submit(image)) for image in images]
        await asyncio.sleep(0)
        assert batcher.depth() == len(images)
        release.set()
        return await asyncio.gather(first, *rest)

    batcher.start()
    try:
        results = asyncio.run(submit_all())
    finally:
        batcher.stop()
    assert calls == [[(2, 2)], [(4, 4)] * 3, [(8, 8)] * 2, [(4, 4)] * 2]
    for index, labels in enumerate(results[1:]):
        assert labels.shape == sizes[index] and (labels == index).all(), "each request gets its own image's labels"
