"""Make tests/data/keras_goldens.json: output shapes, parameter counts (or refusals) from Keras 3 itself.

Run from the repository root with Keras 3 and PyTorch installed (the torch backend needs no TensorFlow)::

    KERAS_BACKEND=torch python tests/data/make_keras_goldens.py

- "singles": random single conv/transposed/pool layers as ``conv-shape --framework keras`` states them
  (1-3 spatial dimensions, SAME/VALID, strides, dilation, output_padding), each built by Keras
  (``ConvND``/``ConvNDTranspose``/``MaxPoolingND``/``AveragePoolingND``) and run on a zero tensor of
  shape (batch, *in, channels): the output shape and ``count_params()``, or Keras's refusal
  (``"backend_only"``: refused by the torch backend's AvgPool3d, which TensorFlow computes).
- "layers": at least 300 random layers of every Keras kind ``--net`` accepts, each after an
  ``Input(shape=...)``, built symbolically by ``keras.Sequential`` as ``model.summary()`` does: the
  output shape (batch None), total, trainable and non-trainable parameters, or the refusal.
- "networks": classic Keras models (the Keras MNIST convnet, LeNet, a VGG block, a CIFAR CNN with
  BatchNormalization, an autoencoder with Conv2DTranspose and UpSampling2D, a MobileNet block, text
  LSTM/GRU/SimpleRNN classifiers, a 1-D and a 3-D net) and refusals, with every layer's name, shape
  and parameters.

Layer texts are parsed with dlsolve's own ``parse_layers`` and built with ``getattr(keras.layers,
name)(*args, **kwargs)``, so the goldens test the text the user types.
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from dlsolve.parsing import parse_layers

SEED = 20261203
sys.path.insert(0, str(Path(__file__).resolve().parent))
from golden_json import write_goldens  # noqa: E402

OUT = Path(__file__).with_name("keras_goldens.json")


def message(error: Exception) -> str:
    return " ".join(str(error).split())[:200]


# --------------------------------------------------------------------------- single conv/pool layers


def random_single(rng: random.Random) -> dict:
    kind = rng.choice(("conv", "transposed", "maxpool", "avgpool"))
    dims = rng.choice((1, 2, 2, 3))
    high = 10 if dims == 3 else 24

    def per_dim(low: int, top: int) -> list[int]:
        return [rng.randint(low, top)] * dims if rng.random() < 0.7 else [rng.randint(low, top) for _ in range(dims)]

    config = {
        "kind": kind,
        "dims": dims,
        "in": per_dim(1, high),
        "k": per_dim(1, 5),
        "s": per_dim(1, 3),
        "p": rng.choice(("same", "valid")),
        "d": per_dim(1, 3) if kind in ("conv", "transposed") and rng.random() < 0.3 else [1] * dims,
        "op": per_dim(0, 2) if kind == "transposed" and rng.random() < 0.3 else None,
        "batch": rng.randint(1, 2),
        "channels": rng.randint(1, 4),
        "filters": rng.randint(1, 4) if kind in ("conv", "transposed") else None,
        "bias": rng.random() < 0.8 if kind in ("conv", "transposed") else True,
    }
    return config


def build_single(config: dict) -> keras.layers.Layer:
    n, kind = config["dims"], config["kind"]
    common = {"strides": tuple(config["s"]), "padding": config["p"]}
    if kind == "conv":
        return getattr(keras.layers, f"Conv{n}D")(
            config["filters"], tuple(config["k"]), dilation_rate=tuple(config["d"]), use_bias=config["bias"], **common
        )
    if kind == "transposed":
        op = None if config["op"] is None else tuple(config["op"])
        return getattr(keras.layers, f"Conv{n}DTranspose")(
            config["filters"],
            tuple(config["k"]),
            output_padding=op,
            dilation_rate=tuple(config["d"]),
            use_bias=config["bias"],
            **common,
        )
    name = "MaxPooling" if kind == "maxpool" else "AveragePooling"
    return getattr(keras.layers, f"{name}{n}D")(tuple(config["k"]), **common)


def run_single(config: dict) -> dict:
    try:
        layer = build_single(config)
        out = layer(np.zeros((config["batch"], *config["in"], config["channels"]), dtype="float32"))
        shape = list(out.shape)
        if 0 in shape:
            raise ValueError(f"empty output {shape}")
    except Exception as error:  # Keras raises ValueError, torch RuntimeError
        text = message(error)
        # torch's AvgPool3d refuses inputs smaller than the window even with padding; TF does not: the
        # torch backend's own limit, not Keras's rule (the test skips these)
        backend_only = "smaller than kernel size" in text
        return {**config, "shape": None, "params": None, "error": text, "backend_only": backend_only}
    return {**config, "shape": shape, "params": layer.count_params(), "error": None}


# --------------------------------------------------------------------------- models from layer texts


def build_model(text: str) -> keras.Sequential:
    calls = parse_layers(text)
    first, rest = calls[0], calls[1:]
    keras.backend.clear_session()  # default names start again at conv2d, conv2d_1, ...
    layers = [keras.Input(*first.args, **first.kwargs)]
    layers += [getattr(keras.layers, call.name)(*call.args, **call.kwargs) for call in rest]
    return keras.Sequential(layers)


def run_model(text: str) -> dict:
    result: dict = {"net": text, "layers": None, "shape": None, "params": None, "error": None}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build_model(text)
    except Exception as error:
        result["error"] = message(error)
        return result
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    result["layers"] = [
        {
            "name": layer.name,
            "shape": list(layer.output.shape),
            "params": layer.count_params(),
            "trainable_params": sum(int(np.prod(w.shape)) for w in layer.trainable_weights),
        }
        for layer in model.layers
    ]
    result["shape"] = list(model.outputs[0].shape)
    result["params"], result["trainable_params"], result["non_trainable_params"] = trainable + frozen, trainable, frozen
    return result


def _tuple(rng: random.Random, n: int, low: int, high: int) -> str:
    if rng.random() < 0.5:
        return str(rng.randint(low, high))
    values = [rng.randint(low, high) for _ in range(n)]
    return "(" + ", ".join(map(str, values)) + ("," if n == 1 else "") + ")"


def _input(shape: list[int]) -> str:
    return f"Input(shape=({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''}))"


def random_layer(rng: random.Random) -> str:
    """One random layer after an Input of a fitting rank (sometimes a wrong one, for refusals)."""
    kind = rng.choice(
        ("conv", "conv", "transpose", "depthwise", "separable", "pool", "pool", "global", "dense", "flatten",
         "dropout", "batchnorm", "activation", "relu", "reshape", "zeropad", "upsample", "embedding", "rnn", "rnn")
    )  # fmt: skip
    n = rng.choice((1, 2, 2, 3))
    spatial = [rng.randint(1, 9 if n == 3 else 20) for _ in range(n)]
    channels = rng.randint(1, 6)
    image = [*spatial, channels]
    pad = rng.choice(("'same'", "'valid'"))
    stride = _tuple(rng, n, 1, 3)
    if kind == "conv":
        groups = rng.choice((1, 1, 1, 2))
        dilation = f", dilation_rate={_tuple(rng, n, 1, 2)}" if rng.random() < 0.3 else ""
        bias = ", use_bias=False" if rng.random() < 0.2 else ""
        groups_text = f", groups={groups}" if groups > 1 else ""
        layer = f"Conv{n}D({rng.randint(1, 8)}, {_tuple(rng, n, 1, 5)}, strides={stride}, padding={pad}"
        layer += f"{dilation}{groups_text}{bias})"
        return f"{_input(image)}; {layer}"
    if kind == "transpose":
        op = f", output_padding={rng.randint(0, 2)}" if rng.random() < 0.3 else ""
        layer = f"Conv{n}DTranspose({rng.randint(1, 8)}, {_tuple(rng, n, 1, 4)}, strides={stride}, padding={pad}{op})"
        return f"{_input(image)}; {layer}"
    if kind in ("depthwise", "separable"):
        image = [rng.randint(1, 16), rng.randint(1, 16), channels]
        multiplier = rng.randint(1, 3)
        bias = ", use_bias=False" if rng.random() < 0.2 else ""
        settings = f"strides={_tuple(rng, 2, 1, 2)}, padding={pad}, depth_multiplier={multiplier}{bias}"
        if kind == "depthwise":
            layer = f"DepthwiseConv2D({_tuple(rng, 2, 1, 5)}, {settings})"
        else:
            layer = f"SeparableConv2D({rng.randint(1, 8)}, {_tuple(rng, 2, 1, 5)}, {settings})"
        return f"{_input(image)}; {layer}"
    if kind == "pool":
        name = rng.choice(("MaxPooling", "AveragePooling"))
        strides = f", strides={stride}" if rng.random() < 0.6 else ""
        return f"{_input(image)}; {name}{n}D({_tuple(rng, n, 1, 4)}{strides}, padding={pad})"
    if kind == "global":
        name = rng.choice(("GlobalAveragePooling", "GlobalMaxPooling"))
        keep = ", keepdims=True" if rng.random() < 0.3 else ""
        return f"{_input(image)}; {name}{n}D({keep.lstrip(', ')})"
    if kind == "dense":
        shape = rng.choice(([rng.randint(1, 64)], [rng.randint(1, 6), rng.randint(1, 12)], image))
        bias = ", use_bias=False" if rng.random() < 0.2 else ""
        activation = rng.choice(("None", repr("relu"), repr("softmax")))
        return f"{_input(shape)}; Dense({rng.randint(1, 32)}, activation={activation}{bias})"
    if kind == "flatten":
        return f"{_input(image)}; Flatten()"
    if kind == "dropout":
        return f"{_input(image)}; Dropout({rng.choice((0.0, 0.25, 0.5, 1.0, 1.5))})"
    if kind == "batchnorm":
        extras = rng.choice(("", "center=False", "scale=False", "axis=1", "momentum=0.9"))
        return f"{_input(image)}; BatchNormalization({extras})"
    if kind == "activation":
        return f"{_input(image)}; Activation({rng.choice(('relu', 'sigmoid', 'tanh', 'softmax', 'gelu'))!r})"
    if kind == "relu":
        return f"{_input(image)}; ReLU({rng.choice(('', 'max_value=6.0', 'negative_slope=0.1'))})"
    if kind == "reshape":
        total = int(np.prod(image))
        target = rng.choice(((total,), (-1, channels), (total // channels, channels), (total + 1,)))
        return f"{_input(image)}; Reshape({tuple(target)})"
    if kind == "zeropad":
        if n == 1:
            padding = rng.choice(("1", "(1, 2)", "2"))
        elif rng.random() < 0.5:
            padding = _tuple(rng, n, 0, 2)
        else:
            padding = "(" + ", ".join(f"({rng.randint(0, 2)}, {rng.randint(0, 2)})" for _ in range(n)) + ")"
        return f"{_input(image)}; ZeroPadding{n}D({padding})"
    if kind == "upsample":
        return f"{_input(image)}; UpSampling{n}D({_tuple(rng, n, 1, 3) if n > 1 else rng.randint(1, 3)})"
    if kind == "embedding":
        return f"{_input([rng.randint(1, 20)])}; Embedding({rng.randint(2, 1000)}, {rng.randint(1, 64)})"
    name = rng.choice(("SimpleRNN", "LSTM", "GRU"))
    extras = []
    if rng.random() < 0.4:
        extras.append("return_sequences=True")
    if rng.random() < 0.2:
        extras.append("use_bias=False")
    if name == "GRU" and rng.random() < 0.4:
        extras.append("reset_after=False")
    shape = [rng.randint(1, 12), rng.randint(1, 16)] if rng.random() < 0.9 else image
    return f"{_input(shape)}; {name}({', '.join([str(rng.randint(1, 32)), *extras])})"


NETWORKS = {
    "keras-mnist-convnet": "Input(shape=(28, 28, 1)); Conv2D(32, kernel_size=(3, 3), activation='relu'); "
    "MaxPooling2D(pool_size=(2, 2)); Conv2D(64, kernel_size=(3, 3), activation='relu'); "
    "MaxPooling2D(pool_size=(2, 2)); Flatten(); Dropout(0.5); Dense(10, activation='softmax')",
    "lenet-keras": "Input(shape=(32, 32, 1)); Conv2D(6, 5, activation='tanh'); AveragePooling2D(2); "
    "Conv2D(16, 5, activation='tanh'); AveragePooling2D(2); Flatten(); Dense(120, activation='tanh'); "
    "Dense(84, activation='tanh'); Dense(10, activation='softmax')",
    "vgg-block-same": "Input(shape=(224, 224, 3)); Conv2D(64, (3, 3), padding='same', activation='relu'); "
    "Conv2D(64, (3, 3), padding='same', activation='relu'); MaxPooling2D((2, 2), strides=(2, 2))",
    "cifar-bn": "Input(shape=(32, 32, 3)); Conv2D(32, 3, padding='same', use_bias=False); BatchNormalization(); "
    "Activation('relu'); Conv2D(64, 3, strides=2, padding='same'); BatchNormalization(); ReLU(); "
    "MaxPooling2D(3, strides=2, padding='same'); GlobalAveragePooling2D(); Dropout(0.3); Dense(10)",
    "autoencoder": "Input(shape=(28, 28, 1)); Conv2D(16, 3, strides=2, padding='same', activation='relu'); "
    "Conv2D(8, 3, strides=2, padding='same', activation='relu'); "
    "Conv2DTranspose(8, 3, strides=2, padding='same', activation='relu'); UpSampling2D(); "
    "Conv2DTranspose(1, 3, padding='same', activation='sigmoid')",
    "mobilenet-block": "Input(shape=(56, 56, 32)); ZeroPadding2D(((0, 1), (0, 1))); "
    "DepthwiseConv2D(3, strides=2, use_bias=False); BatchNormalization(); ReLU(6.0); "
    "Conv2D(64, 1, use_bias=False); BatchNormalization(); ReLU(6.0); SeparableConv2D(128, 3, padding='same')",
    "text-lstm": "Input(shape=(100,)); Embedding(20000, 128); LSTM(64, return_sequences=True); LSTM(32); "
    "Dense(1, activation='sigmoid')",
    "text-gru-reset-after": "Input(shape=(50,)); Embedding(5000, 32); GRU(16, return_sequences=True); "
    "GRU(8, reset_after=False); Dense(4, activation='softmax')",
    "simple-rnn-timeseries": "Input(shape=(20, 3)); SimpleRNN(10, return_sequences=True); SimpleRNN(5); Dense(1)",
    "conv1d-signal": "Input(shape=(128, 2)); Conv1D(16, 5, strides=2, padding='causal'); MaxPooling1D(2); "
    "Conv1D(32, 3, padding='same', dilation_rate=2); GlobalMaxPooling1D(); Dense(3)",
    "conv3d-volume": "Input(shape=(16, 32, 32, 1)); Conv3D(8, 3, padding='same'); MaxPooling3D(2); "
    "Conv3DTranspose(4, 2, strides=2); AveragePooling3D((2, 2, 2), strides=1); Flatten(); Dense(2)",
    "reshape-head": "Input(shape=(784,)); Reshape((28, 28, 1)); Conv2D(4, 3, strides=2); Reshape((-1, 4)); "
    "Dense(2); Flatten()",
    "frozen-layers": "Input(shape=(8, 8, 3)); Conv2D(4, 3, trainable=False); Flatten(); Dense(2, name='head')",
    "refused-valid-kernel": "Input(shape=(5, 5, 1)); Conv2D(4, 3); MaxPooling2D(2); Conv2D(4, 3)",
    "refused-rnn-rank": "Input(shape=(10, 4)); LSTM(8); LSTM(8)",
    "refused-conv-rank": "Input(shape=(32,)); Conv2D(8, 3)",
    "refused-reshape": "Input(shape=(4, 4, 2)); Reshape((5, 5))",
    "refused-groups": "Input(shape=(8, 8, 3)); Conv2D(4, 3, groups=2)",
    "refused-dilated-strides": "Input(shape=(16, 16, 1)); Conv2D(4, 3, strides=2, dilation_rate=2)",
}


def main() -> None:
    rng = random.Random(SEED)
    singles = [run_single(random_single(rng)) for _ in range(220)]
    layer_rng = random.Random(SEED + 1)
    layers = [run_model(random_layer(layer_rng)) for _ in range(360)]
    networks = {name: run_model(text) for name, text in NETWORKS.items()}
    data = {"keras": keras.__version__, "backend": keras.backend.backend(), "seed": SEED,
            "singles": singles, "layers": layers, "networks": networks}  # fmt: skip
    write_goldens(OUT, data)
    refused = sum(case["error"] is not None for case in singles), sum(case["error"] is not None for case in layers)
    print(f"wrote {OUT}: {len(singles)} singles ({refused[0]} refused), {len(layers)} layers ({refused[1]} refused), "
          f"{len(networks)} networks")  # fmt: skip


if __name__ == "__main__":
    main()
