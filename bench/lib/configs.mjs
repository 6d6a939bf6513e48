// The experiment configs the benchmark serves: the one headline experiment (splitbeam's and the same
// test in GrowthBook's visual-editor payload), and a large shop's 50 running experiments with conditions.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const fixtures = path.join(benchDir, 'fixtures');

export const ORIGINAL = 'New season: the autumn roasts are in';
export const VARIANT = 'Free shipping on every order';
/** Product tiles on the storefront; the 50-experiment config changes one badge on each. */
export const PRODUCTS = 49;

export const headlineConfig = () => JSON.parse(fs.readFileSync(path.join(fixtures, 'experiments.json'), 'utf8'));
export const growthbookPayload = () => JSON.parse(fs.readFileSync(path.join(fixtures, 'growthbook-payload.json'), 'utf8'));

/** The headline experiment plus 49 more, each with page rules and an audience of several operators. */
export function fiftyConfig() {
  const config = headlineConfig();
  for (let i = 1; i <= PRODUCTS; i++) {
    config.experiments.push({
      key: `badge-${i}`,
      name: `Badge copy on product ${i}`,
      status: 'running',
      pages: ['/', '/collections/*', '!/collections/sale'],
      traffic: 0.9,
      audience: {
        device: { $in: ['mobile', 'desktop'] },
        language: { $regex: '^(en|de)' },
        utm_source: { $ne: 'spam' },
        new_visitor: { $exists: true },
      },
      variants: [
        { key: 'control', weight: 1 },
        { key: 'urgent', weight: 1, changes: [{ selector: `#p${i} .badge`, text: `Only a few left` }] },
      ],
    });
  }
  return config;
}

/** The product tiles that the 50-experiment config changes (present on every setup's page). */
export const productTiles = () =>
  Array.from({ length: PRODUCTS }, (_, k) => `<li class="product" id="p${k + 1}"><b>Roast no. ${k + 1}</b><br><span class="badge">In stock</span></li>`).join('\n');
