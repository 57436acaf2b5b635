"""``dlsolve attention``: scaled dot-product attention by hand; ``attention shapes``: its tensor shapes."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import MATRIX_HELP, Labels, Vector, option
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import Matrix


def _mask_type(value: Any, flag: str) -> str:
    from dlsolve.solvers.attention import MASK_TYPES

    return parsing.parse_choice(value, flag, MASK_TYPES)


def _masked_rows(value: Any, flag: str) -> str:
    from dlsolve.solvers.attention import MASKED_ROW_MODES

    return parsing.parse_choice(value, flag, MASKED_ROW_MODES)


@command("attention")
def attention(
    q: Annotated[
        Matrix | None,
        option("--q", parse=parsing.parse_matrix, help=f"Queries Q, T x d_k, one row per token ({MATRIX_HELP})."),
    ] = None,
    k: Annotated[Matrix | None, option("--k", parse=parsing.parse_matrix, help="Keys K, S x d_k.")] = None,
    v: Annotated[Matrix | None, option("--v", parse=parsing.parse_matrix, help="Values V, S x d_v.")] = None,
    x: Annotated[
        Matrix | None,
        option("--x", parse=parsing.parse_matrix, help="Embeddings X, T x d_model (instead of --q/--k/--v)."),
    ] = None,
    x_kv: Annotated[
        Matrix | None,
        option(
            "--x-kv", parse=parsing.parse_matrix, help="Cross-attention: keys/values from X_kv, S x d_kv (K = X_kv Wk)."
        ),
    ] = None,
    x_v: Annotated[
        Matrix | None,
        option(
            "--x-v",
            parse=parsing.parse_matrix,
            help="Values from X_v, S x vdim (V = X_v Wv); --x-kv then gives only the keys.",
        ),
    ] = None,
    wq: Annotated[
        Matrix | None, option("--wq", parse=parsing.parse_matrix, help="Wq, d_model x d_k: Q = X Wq.")
    ] = None,
    wk: Annotated[
        Matrix | None, option("--wk", parse=parsing.parse_matrix, help="Wk, d_model x d_k: K = X Wk.")
    ] = None,
    wv: Annotated[
        Matrix | None, option("--wv", parse=parsing.parse_matrix, help="Wv, d_model x d_v: V = X Wv.")
    ] = None,
    wo: Annotated[
        Matrix | None, option("--wo", parse=parsing.parse_matrix, help="Output projection Wo, (h d_v) x d_out.")
    ] = None,
    bq: Annotated[
        Vector | None, option("--bq", parse=parsing.parse_vector, help="Query bias (d_k entries): Q = X Wq + bq.")
    ] = None,
    bk: Annotated[
        Vector | None, option("--bk", parse=parsing.parse_vector, help="Key bias (d_k entries): K = X Wk + bk.")
    ] = None,
    bv: Annotated[
        Vector | None, option("--bv", parse=parsing.parse_vector, help="Value bias (d_v entries): V = X Wv + bv.")
    ] = None,
    bo: Annotated[
        Vector | None, option("--bo", parse=parsing.parse_vector, help="Output bias (with --wo): concat Wo + bo.")
    ] = None,
    heads: Annotated[
        int,
        option("--heads", parse=parsing.parse_int, minimum=1, help="Heads (with --x): columns of Q, K, V split in h."),
    ] = 1,
    scale: Annotated[
        Any, option("--scale", parse=parsing.parse_positive, help="Score scale (default 1/sqrt(d_k)).")
    ] = None,
    no_scale: Annotated[bool, option("--no-scale", help="Do not scale the scores (scale 1).")] = False,
    causal: Annotated[bool, option("--causal", help="Causal mask: query i sees keys j <= i.")] = False,
    mask: Annotated[
        Matrix | None,
        option(
            "--mask",
            parse=parsing.parse_matrix,
            allow_inf=True,
            help="T x S mask: 0/1 (1 = may attend) or additive (-inf blocks).",
        ),
    ] = None,
    mask_type: Annotated[str, option("--mask-type", parse=_mask_type, help="auto, bool or additive.")] = "auto",
    key_padding: Annotated[
        Vector | None,
        option("--key-padding", parse=parsing.parse_vector, help="S flags, 1 = ignore the key (key_padding_mask)."),
    ] = None,
    temperature: Annotated[
        Any, option("--temperature", parse=parsing.parse_positive, help="Softmax temperature T > 0.")
    ] = 1,
    hard: Annotated[bool, option("--hard", help="Hard attention: argmax (T -> 0 limit).")] = False,
    exact: Annotated[bool, option("--exact", help="Exact SymPy weights (small exact inputs).")] = False,
    tokens: Annotated[
        Labels | None, option("--tokens", parse=parsing.parse_labels, help="Query (and key) labels: This,exam,is.")
    ] = None,
    key_tokens: Annotated[
        Labels | None,
        option(
            "--key-tokens",
            parse=parsing.parse_labels,
            help="Key labels (if not --tokens; the X_kv tokens with --x-kv).",
        ),
    ] = None,
    masked_rows: Annotated[
        str, option("--masked-rows", parse=_masked_rows, help="Fully masked rows: zero (SDPA) or nan (MHA).")
    ] = "zero",
    full: Annotated[
        bool,
        option(
            "--full",
            help="Also QKᵀ before scaling, every matrix written out, and each query's most-attended key and entropy.",
        ),
    ] = False,
) -> Solution:
    """Scaled dot-product attention softmax(Q K^T / sqrt(d_k)) V, step by step.

    Rows are tokens. Give Q, K, V, or embeddings X with Wq, Wk, Wv (Q = X Wq). Masks follow PyTorch:
    --causal is is_causal, --mask 0/1 has 1 = may attend, --key-padding has 1 = ignore.
    Subcommand 'shapes' gives multi-head shapes, parameters and multiply-adds.

    Example: dlsolve attention --q "1,0;0,1" --k "1,0;0,1" --v "1,2;3,4" --exact

    Example: dlsolve attention --x "1,0;0,1;1,1" --wq "1,0;0,1" --wk "1,0;0,1" --wv "1,0;0,1" --tokens "a,b,c" --hard

    Example: dlsolve attention --x "1,0;0,1" --x-kv "1;2;0" --wq "1;0" --wk "1" --wv "1" --key-tokens "x,y,z" --exact
    """
    from dlsolve.solvers.attention import attention as solve

    return solve(
        q,
        k,
        v,
        x=x,
        x_kv=x_kv,
        x_v=x_v,
        wq=wq,
        wk=wk,
        wv=wv,
        wo=wo,
        bq=bq,
        bk=bk,
        bv=bv,
        bo=bo,
        heads=heads,
        scale=scale,
        no_scale=no_scale,
        causal=causal,
        mask=mask,
        mask_type=mask_type,
        key_padding=key_padding,
        temperature=temperature,
        hard=hard,
        exact=exact,
        tokens=tokens,
        key_tokens=key_tokens,
        masked_rows=masked_rows,
        full=full,
    )


@command("attention shapes")
def attention_shapes(
    batch: Annotated[int, option("--batch", "-b", parse=parsing.parse_int, minimum=1, help="Batch size B.")] = 1,
    seq: Annotated[
        int | None,
        option(
            "--seq",
            parse=parsing.parse_int,
            minimum=1,
            help="Query sequence length T (optional: without it, parameters only).",
        ),
    ] = None,
    d_model: Annotated[
        int | None, option("--d-model", parse=parsing.parse_int, minimum=1, help="Model width d_model (embed_dim).")
    ] = None,
    heads: Annotated[
        int | None, option("--heads", parse=parsing.parse_int, minimum=1, help="Number of heads h.")
    ] = None,
    seq_kv: Annotated[
        int | None, option("--seq-kv", parse=parsing.parse_int, minimum=1, help="Key/value length S (default T).")
    ] = None,
    d_k: Annotated[
        int | None,
        option("--d-k", parse=parsing.parse_int, minimum=1, help="Per-head query/key width (default d_model/h)."),
    ] = None,
    d_v: Annotated[
        int | None, option("--d-v", parse=parsing.parse_int, minimum=1, help="Per-head value width (default d_k).")
    ] = None,
    kdim: Annotated[
        int | None, option("--kdim", parse=parsing.parse_int, minimum=1, help="Key input width (default d_model).")
    ] = None,
    vdim: Annotated[
        int | None, option("--vdim", parse=parsing.parse_int, minimum=1, help="Value input width (default d_model).")
    ] = None,
    no_bias: Annotated[bool, option("--no-bias", help="bias=False (no projection biases).")] = False,
    add_bias_kv: Annotated[bool, option("--add-bias-kv", help="add_bias_kv=True.")] = False,
) -> Solution:
    """Multi-head attention: every tensor shape, parameters (as nn.MultiheadAttention), multiply-adds.

    Example: dlsolve attention shapes --batch 32 --seq 10 --d-model 512 --heads 8
    """
    from dlsolve.solvers.attention_shapes import attention_shapes as solve

    return solve(
        batch=batch,
        seq=seq,
        d_model=d_model,
        heads=heads,
        seq_kv=seq_kv,
        d_k=d_k,
        d_v=d_v,
        kdim=kdim,
        vdim=vdim,
        bias=not no_bias,
        add_bias_kv=add_bias_kv,
    )
