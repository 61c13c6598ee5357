"""Draw the book's static figures with matplotlib (no graphviz needed).

Run ``make figures`` (or ``python figures/make_figures.py``) to regenerate
``figures/sgd-vae.png``: the computational graph of one SGD step on the ELBO
of a variational autoencoder, with the reparameterization trick.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Polygon  # noqa: E402

HERE = Path(__file__).resolve().parent

# Palette (colour-blind friendly: Okabe-Ito based).
ENC = ("#dbe9f6", "#2b6cb0")  # encoder / phi: fill, edge
DEC = ("#dcf2e3", "#2f855a")  # decoder / theta
NODE = ("#ffffff", "#4a5568")  # deterministic intermediate values
OBJ = ("#f3e8fd", "#6b46c1")  # terms of the objective
NOISE = ("#fff4d6", "#b7791f")  # stochastic node
FWD = "#2d3748"  # forward pass
BWD = "#d55e00"  # backward pass (gradients)


def box(ax, xy, w, h, text, colors, fontsize=12, bold=False):
    """Draw a rounded box centred at ``xy``; return its (left, right, bottom, top)."""
    x, y = xy
    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2),
        w,
        h,
        boxstyle="round,pad=0.02,rounding_size=0.12",
        facecolor=colors[0],
        edgecolor=colors[1],
        linewidth=1.6,
        zorder=3,
    )
    ax.add_patch(patch)
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=fontsize,
        zorder=4,
        fontweight="bold" if bold else "normal",
        color="#1a202c",
    )
    return {"l": x - w / 2, "r": x + w / 2, "b": y - h / 2, "t": y + h / 2, "x": x, "y": y}


def diamond(ax, xy, w, h, text, colors, fontsize=12):
    x, y = xy
    poly = Polygon(
        [(x - w / 2, y), (x, y + h / 2), (x + w / 2, y), (x, y - h / 2)],
        closed=True,
        facecolor=colors[0],
        edgecolor=colors[1],
        linewidth=1.6,
        zorder=3,
    )
    ax.add_patch(poly)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    return {"l": x - w / 2, "r": x + w / 2, "b": y - h / 2, "t": y + h / 2, "x": x, "y": y}


def arrow(ax, start, end, color=FWD, dashed=False, rad=0.0, lw=1.8, shrink=2):
    patch = FancyArrowPatch(
        start,
        end,
        arrowstyle="-|>,head_length=7,head_width=4",
        connectionstyle=f"arc3,rad={rad}",
        color=color,
        linewidth=lw,
        linestyle=(0, (5, 3)) if dashed else "solid",
        shrinkA=shrink,
        shrinkB=shrink,
        zorder=2,
        mutation_scale=1.0,
    )
    ax.add_patch(patch)
    return patch


def label(ax, xy, text, color, fontsize=11, **kw):
    ax.text(
        xy[0],
        xy[1],
        text,
        ha=kw.pop("ha", "center"),
        va=kw.pop("va", "center"),
        fontsize=fontsize,
        color=color,
        zorder=5,
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
        **kw,
    )


def sgd_vae(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(13.0, 6.0), dpi=150)
    ax.set_xlim(0, 13.0)
    ax.set_ylim(0, 6.0)
    ax.set_aspect("equal")
    ax.axis("off")

    ym = 3.1  # main row
    h = 0.9

    x_in = box(ax, (0.75, ym), 0.9, h, r"$\mathbf{x}$", NODE, fontsize=15)
    enc = box(ax, (2.55, ym), 1.9, h, "encoder\n" + r"$q_\phi(\mathbf{z}\mid\mathbf{x})$", ENC)
    stats = box(ax, (4.6, ym), 1.5, h, r"$\mu,\ \log\sigma$", NODE, fontsize=13)
    z = box(ax, (6.75, ym), 1.95, h, r"$\mathbf{z}=\mu+\sigma\odot\varepsilon$", NODE)
    dec = box(ax, (8.95, ym), 1.9, h, "decoder\n" + r"$p_\theta(\mathbf{x}\mid\mathbf{z})$", DEC)
    rec = box(ax, (11.6, ym), 1.9, h, r"$\log p_\theta(\mathbf{x}\mid\mathbf{z})$", OBJ)

    eps = diamond(
        ax, (6.75, 1.35), 2.0, 1.05, r"$\varepsilon\sim\mathcal{N}(\mathbf{0},\mathbf{I})$", NOISE
    )
    kl = box(
        ax,
        (4.6, 4.85),
        2.7,
        0.75,
        r"$\mathrm{KL}\left(q_\phi(\mathbf{z}\mid\mathbf{x})\,\Vert\,p(\mathbf{z})\right)$",
        OBJ,
    )
    elbo = box(
        ax,
        (10.55, 4.85),
        4.2,
        0.75,
        r"$\tilde{\mathcal{L}}_{\theta,\phi}(\mathbf{x})=\log p_\theta(\mathbf{x}\mid\mathbf{z})"
        r"-\mathrm{KL}$",
        OBJ,
        fontsize=12.5,
    )

    # ---- forward pass (solid) ----
    arrow(ax, (x_in["r"], ym), (enc["l"], ym))
    arrow(ax, (enc["r"], ym), (stats["l"], ym))
    arrow(ax, (stats["r"], ym), (z["l"], ym))
    arrow(ax, (z["r"], ym), (dec["l"], ym))
    arrow(ax, (dec["r"], ym), (rec["l"], ym))
    arrow(ax, (eps["x"], eps["t"]), (z["x"], z["b"]), color=NOISE[1])
    arrow(ax, (stats["x"], stats["t"]), (kl["x"], kl["b"]))
    arrow(ax, (kl["r"], kl["y"]), (elbo["l"], elbo["y"]))
    arrow(ax, (rec["x"], rec["t"]), (rec["x"], elbo["b"]))
    # x also enters the likelihood term: the decoder scores the observed x.
    yl = 0.45
    grey = "#a0aec0"
    ax.plot([x_in["x"], x_in["x"], rec["x"] + 0.45], [x_in["b"] - 0.02, yl, yl], color=grey, lw=1.3)
    arrow(ax, (rec["x"] + 0.45, yl), (rec["x"] + 0.45, rec["b"]), color=grey, lw=1.3, shrink=0)
    label(ax, (2.6, yl), r"observed $\mathbf{x}$ is scored by the decoder", "#718096", fontsize=9.5)

    # ---- backward pass (dashed) ----
    # grad wrt theta: from the objective into the decoder's parameters.
    arrow(ax, (elbo["l"] + 0.45, elbo["b"]), (dec["x"] + 0.2, dec["t"]), color=BWD, dashed=True)
    label(ax, (9.55, 4.05), r"$\nabla_\theta\tilde{\mathcal{L}}$", BWD, fontsize=12)
    # grad wrt phi, reconstruction path: back through the decoder input z = mu + sigma*eps.
    yb = ym - h / 2
    arrow(ax, (dec["l"] + 0.3, yb), (z["r"] - 0.3, yb), color=BWD, dashed=True, rad=-0.55)
    arrow(ax, (z["l"] + 0.3, yb), (stats["r"] - 0.25, yb), color=BWD, dashed=True, rad=-0.55)
    arrow(ax, (stats["l"] + 0.25, yb), (enc["r"] - 0.3, yb), color=BWD, dashed=True, rad=-0.55)
    label(ax, (5.65, 2.1), r"$\nabla_\phi\tilde{\mathcal{L}}$ via $\mathbf{z}$", BWD, fontsize=11)
    # grad wrt phi, KL path.
    arrow(ax, (kl["l"] + 0.35, kl["b"]), (enc["r"] - 0.25, enc["t"]), color=BWD, dashed=True)
    label(ax, (2.75, 4.2), r"$\nabla_\phi\,\mathrm{KL}$", BWD, fontsize=11)

    ax.text(
        eps["x"] + 1.15,
        eps["y"],
        "sampled outside the\ngradient path\n(no parameters)",
        ha="left",
        va="center",
        fontsize=9.5,
        color="#975a16",
        style="italic",
    )
    ax.text(
        4.6,
        5.55,
        r"closed form, $p(\mathbf{z})=\mathcal{N}(\mathbf{0},\mathbf{I})$",
        ha="center",
        va="center",
        fontsize=9.5,
        color="#553c9a",
    )

    handles = [
        Line2D([0], [0], color=FWD, lw=1.8, label="forward pass"),
        Line2D([0], [0], color=BWD, lw=1.8, ls=(0, (5, 3)), label="backward pass (gradients)"),
        Patch(facecolor=ENC[0], edgecolor=ENC[1], label=r"encoder, parameters $\phi$"),
        Patch(facecolor=DEC[0], edgecolor=DEC[1], label=r"decoder, parameters $\theta$"),
        Patch(facecolor=OBJ[0], edgecolor=OBJ[1], label="terms of the objective"),
        Line2D(
            [0],
            [0],
            marker="D",
            color="none",
            markerfacecolor=NOISE[0],
            markeredgecolor=NOISE[1],
            markersize=10,
            label="stochastic node",
        ),
    ]
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, -0.13),
        ncol=3,
        frameon=False,
        fontsize=10,
        handlelength=2.6,
    )
    ax.set_title(
        "One SGD step on the ELBO with the reparameterization trick",
        fontsize=14,
        pad=4,
        color="#1a202c",
    )
    fig.savefig(path, dpi=150, bbox_inches="tight", facecolor="white")
    plt.close(fig)


def main() -> None:
    out = HERE / "sgd-vae.png"
    sgd_vae(out)
    print(f"wrote {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
