/**
 * Writes the settings tables in README.md from the kinds' descriptions (components/kinds.ts).
 * `npm run readme`; test/unit/readme.test.ts fails while README.md and the code disagree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { withSettingsTables } from "../components/kinds";

const file = path.join(__dirname, "..", "README.md");
const before = fs.readFileSync(file, "utf8");
const after = withSettingsTables(before);
if (after !== before) fs.writeFileSync(file, after);
console.log(after === before ? "README.md: settings tables already up to date" : "README.md: settings tables rewritten");
