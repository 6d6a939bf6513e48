// A Node module load hook for bench/lighthouse.mjs (registered with `module.register` before
// Lighthouse is imported): Lighthouse 12.2.3's bundled trace engine (@paulirish/trace_engine 0.0.32)
// reads `args.chrome_frame_reporter.frame_sequence` of every pipeline-reporter event, which Debian's
// Chromium 156 no longer writes; the read throws and the trace-based audits (render-blocking
// resources, LCP element, layout shifts) error out. This makes that one read optional, in memory;
// node_modules stays untouched. `patched` counts the rewrites, so the bench can say when it did nothing.
const TARGET = /\/@paulirish\/trace_engine\/models\/trace\/handlers\/ScreenshotsHandler\.js$/;
const READ = '.args.chrome_frame_reporter.frame_sequence';

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!TARGET.test(url) || result.source == null) return result;
  const source = Buffer.from(result.source).toString('utf8');
  if (!source.includes(READ)) return result;
  return { ...result, source: source.replaceAll(READ, '.args.chrome_frame_reporter?.frame_sequence') };
}
