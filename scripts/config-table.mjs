// Prints the README's configuration table from the serve options (npx tsx scripts/config-table.mjs).
// A test (test/cli/docs.test.ts) fails when the README's table and the code disagree.
import { SERVE_OPTIONS } from '../src/cli/serve-options.ts';

const cell = (s) => s.replace(/\|/g, '\\|');
console.log('| flag | environment variable | default | meaning |');
console.log('| ---- | -------------------- | ------- | ------- |');
for (const o of SERVE_OPTIONS) console.log(`| \`${cell(o.flag)}\` | \`${o.env}\` | \`${o.defaultText}\` | ${cell(o.description)} |`);
