// Lighthouse in one signed-in Chromium page (bench/lighthouse.py starts the console and
// calls this): node bench/lighthouse.mjs BASE_URL LIGHTHOUSE_PREFIX USER PASSWORD
import path from "node:path";

const [base, prefix, user, password] = process.argv.slice(2);
const load = (p) => import(path.join(prefix, "node_modules", p));
const { default: puppeteer } = await load("puppeteer-core/lib/esm/puppeteer/puppeteer-core.js");
const { default: lighthouse } = await load("lighthouse/core/index.js");
const { default: desktop } = await load("lighthouse/core/config/desktop-config.js");

const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
});
const categories = ["performance", "accessibility", "best-practices"];

async function measure(page, url, preset) {
  // the browser's own user agent: the console's sign-in is bound to it (Flask-Login's strong
  // session protection), and Lighthouse's emulated one would sign the page out
  const settings = { onlyCategories: categories, disableStorageReset: true, emulatedUserAgent: false };
  const config = preset === "desktop"
    ? { ...desktop, settings: { ...desktop.settings, ...settings } }
    : { extends: "lighthouse:default", settings };
  const result = await lighthouse(url, { output: "json", logLevel: "error" }, config, page);
  const lhr = result.lhr;
  const a11y = new Set(lhr.categories.accessibility.auditRefs.map((r) => r.id));
  const failed = Object.values(lhr.audits).filter((a) => a.score === 0 && a11y.has(a.id)).map((a) => a.id);
  return {
    url: lhr.finalDisplayedUrl,
    scores: categories.map((c) => Math.round(lhr.categories[c].score * 100)),
    kb: Math.round(lhr.audits["total-byte-weight"].numericValue / 1024),
    failed,
  };
}

const page = await browser.newPage();
const rows = [];
for (const preset of ["desktop", "mobile"]) rows.push(["login", preset, await measure(page, base + "/login", preset)]);
await page.goto(base + "/login");
await page.type("#username", user);
await page.type("#password", password);
await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
await page.goto(base + "/entries");
const entry = await page.$eval("a[href^='/entries/'][href*='-']", (a) => a.getAttribute("href"));
for (const [name, p] of [["entries", "/entries"], ["detail", entry], ["audit", "/audit"], ["overview", "/overview"]]) {
  for (const preset of ["desktop", "mobile"]) rows.push([name, preset, await measure(page, base + p, preset)]);
}
await browser.close();
console.log("| page | preset | performance | accessibility | best practices | KB on the wire | a11y audits failed |");
console.log("|---|---|--:|--:|--:|--:|---|");
for (const [name, preset, r] of rows) {
  const where = r.url.includes("/login") && name !== "login" ? " (signed out!)" : "";
  console.log(`| ${name}${where} | ${preset} | ${r.scores.join(" | ")} | ${r.kb} | ${r.failed.join(", ") || "—"} |`);
}
