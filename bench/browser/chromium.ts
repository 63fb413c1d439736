/**
 * How the benches (and the browser tests) start Debian's Chromium: its path (WGBERT_CHROMIUM or
 * /usr/bin/chromium) and its flags, in two sets.
 */

export const CHROMIUM_PATH = process.env.WGBERT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Every headless run: no sandbox (containers), nothing on the network but the page, and the renderer kept at
 * full speed (no background throttling of a headless tab or its timers).
 */
export const CHROMIUM_QUIET_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
];

/**
 * WebGPU on Linux: only --enable-unsafe-webgpu (plus a secure origin: http://127.0.0.1 is one) is needed; the
 * rest pick the Vulkan backend, which finds SwiftShader's software adapter ("google swiftshader") without a GPU.
 */
export const CHROMIUM_WEBGPU_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--disable-gpu-sandbox',
];
