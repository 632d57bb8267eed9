"""Image quality metrics: PSNR, SSIM / MS-SSIM and LPIPS (with its weight fetch)."""
