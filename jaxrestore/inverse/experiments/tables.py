"""The published figures the experiments print beside their own: 002_* Table 1 (PSNR dB, SSIM
per task and method) and 003_* Tables 1-4 (PSNR dB, PS = LPIPS), and 003_*'s solver settings.

002_*: :data:`TABLE1_OURS` and :data:`TABLE1_BASELINES`, keyed by task (colourisation was left
empty for the baselines). 003_*: :data:`TABLES`, keys ``(dataset, task, setting, noise)`` with
dataset ``celeba`` (BEGAN prior, 128x128) or ``celeba_hq`` (PGGAN, 1024x1024), setting the ratio
(CS) or the scale (SR), ``None`` for deblurring; noise in 1/255 units. Method names are this project's result keys
(``naive`` is the table's first column: naive IFFT, Bicubic or Blurred).
"""

from __future__ import annotations

# 002_* Table 1, row "Ours": (PSNR dB, SSIM) on 2,000 held-out CelebA faces.
TABLE1_OURS = {"inpaint": (23.60, 0.8121), "colorize": (20.85, 0.8876), "sr": (19.58, 0.5626),
               "denoise": (19.31, 0.6161), "quantize": (19.77, 0.6061)}
# 002_* Table 1, rows TV, LR, Sparse: (PSNR dB, SSIM).
TABLE1_BASELINES = {
    "tv": {"inpaint": (23.10, 0.7647), "sr": (21.05, 0.6648), "denoise": (21.97, 0.7373), "quantize": (20.77, 0.6312)},
    "lr": {"inpaint": (16.98, 0.6644), "sr": (21.45, 0.6754), "denoise": (18.69, 0.6178), "quantize": (20.65, 0.6754)},
    "sparse": {"inpaint": (20.67, 0.7528), "sr": (20.82, 0.6075), "denoise": (23.63, 0.8092),
               "quantize": (22.67, 0.7869)},
}

_COLUMNS_NOISY = ("naive", "dip", "csgm", "iagan")
_COLUMNS_CLEAN = ("naive", "dip", "csgm", "csgm_bp", "iagan", "iagan_bp")


def _row(columns, text: str) -> dict[str, tuple[float, float]]:
    cells = [cell.split("/") for cell in text.split(";")]
    return {c: (float(p), float(s)) for c, (p, s) in zip(columns, cells)}


TABLES = {
    # Table 1: compressed sensing, subsampled Fourier, noise 10/255
    ("celeba", "cs_fourier", 0.3, 10): _row(_COLUMNS_NOISY, "19.23/0.540; 25.96/0.139; 20.12/0.246; 25.50/0.092"),
    ("celeba", "cs_fourier", 0.5, 10): _row(_COLUMNS_NOISY, "20.53/0.495; 27.21/0.125; 20.32/0.241; 27.59/0.066"),
    ("celeba_hq", "cs_fourier", 0.3, 10): _row(_COLUMNS_NOISY, "19.65/0.625; 24.97/0.566; 21.38/0.520; 25.80/0.429"),
    ("celeba_hq", "cs_fourier", 0.5, 10): _row(_COLUMNS_NOISY, "20.45/0.597; 26.29/0.535; 21.82/0.514; 28.26/0.378"),
    # Table 2: super-resolution, bicubic, no noise
    ("celeba", "sr", 4, 0): _row(_COLUMNS_CLEAN, "26.50/0.165; 27.35/0.159; 20.51/0.235; 26.44/0.165; "
                                                 "27.16/0.092; 27.14/0.092"),
    ("celeba", "sr", 8, 0): _row(_COLUMNS_CLEAN, "22.39/0.212; 23.45/0.339; 20.23/0.240; 22.71/0.212; "
                                                 "23.49/0.158; 23.53/0.157"),
    ("celeba_hq", "sr", 8, 0): _row(_COLUMNS_CLEAN, "29.94/0.398; 30.01/0.400; 22.62/0.505; 28.54/0.398; "
                                                    "28.76/0.387; 28.76/0.360"),
    ("celeba_hq", "sr", 16, 0): _row(_COLUMNS_CLEAN, "27.43/0.437; 27.51/0.480; 22.34/0.506; 26.20/0.437; "
                                                     "26.28/0.421; 25.86/0.411"),
    # Table 3: super-resolution, bicubic, noise 10/255
    ("celeba", "sr", 4, 10): _row(_COLUMNS_NOISY, "24.72/0.432; 24.19/0.280; 20.57/0.238; 25.54/0.133"),
    ("celeba", "sr", 8, 10): _row(_COLUMNS_NOISY, "21.65/0.660; 21.22/0.513; 20.22/0.243; 21.72/0.243"),
    ("celeba_hq", "sr", 8, 10): _row(_COLUMNS_NOISY, "26.31/0.801; 27.61/0.430; 21.60/0.519; 26.30/0.421"),
    ("celeba_hq", "sr", 16, 10): _row(_COLUMNS_NOISY, "25.02/0.781; 24.20/0.669; 21.31/0.516; 24.73/0.455"),
    # Table 4: deblurring, 9x9 uniform, noise 10/255
    ("celeba", "deblur", None, 10): _row(_COLUMNS_NOISY, "22.21/0.490; 25.63/0.203; 20.37/0.241; 26.15/0.110"),
    ("celeba_hq", "deblur", None, 10): _row(_COLUMNS_NOISY, "25.80/0.622; 28.28/0.458; 21.62/0.507; 28.25/0.388"),
}

# The paper's solver settings by prior (Sec. 5): CSGM iterations; IAGAN iterations for
# compressed sensing and super-resolution (halved with noise); IAGAN learning rates (z, theta).
SETTINGS = {
    "began": {"csgm": 1600, "iagan_cs": 600, "iagan_sr": 500, "lr_z": 1e-4, "lr_theta": 1e-4},
    "pggan": {"csgm": 1800, "iagan_cs": 500, "iagan_sr": 300, "lr_z": 1e-4, "lr_theta": 1e-3},
}


def reference(prior_kind: str, task: str, setting, noise: float):
    """The published row for this experiment, or None (a DCGAN prior is compared with the
    BEGAN/CelebA rows, the nearest the paper has)."""
    dataset = "celeba_hq" if prior_kind == "pggan" else "celeba"
    return TABLES.get((dataset, task, setting, int(round(noise))))
