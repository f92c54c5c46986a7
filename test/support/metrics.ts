// Scraping a real server's /metrics over HTTP and reading it with a Prometheus text parser
// (parse-prometheus-text-format), as Prometheus would: nothing here knows prom-client.
//
// That parser merges the series of a histogram that has labels other than `le` into one,
// dropping the labels, the count and the sum; histogram() hands it the histogram's sample
// lines as plain (untyped) series instead, which it reads with their labels.
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';

export class Scrape {
  readonly families = new Map<string, ParsedFamily>();
  constructor(readonly text: string) {
    for (const f of parsePrometheusTextFormat(text)) this.families.set(f.name, f);
  }

  family(name: string): ParsedFamily {
    const f = this.families.get(name);
    if (!f) throw new Error(`no metric ${name} in the scrape:\n${this.text}`);
    return f;
  }

  /** The samples of `name` whose labels include `labels`. */
  samples(name: string, labels: Record<string, string> = {}): ParsedSample[] {
    return this.family(name).metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  }

  /** The sum of the values of `name` whose labels include `labels`; 0 when none. */
  value(name: string, labels: Record<string, string> = {}): number {
    if (this.family(name).type === 'HISTOGRAM') throw new Error(`${name} is a histogram: use histogram()`);
    return this.samples(name, labels).reduce((total, m) => total + Number(m.value ?? 0), 0);
  }

  /** The series of histogram `name` whose labels are `labels` (and `le`): count, sum and cumulative buckets. */
  histogram(name: string, labels: Record<string, string>): { count: number; sum: number; buckets: Map<string, number> } {
    if (this.family(name).type !== 'HISTOGRAM') throw new Error(`${name} is not a histogram`);
    const lines = this.text.split('\n').filter((l) => /^\w+[{ ]/.test(l) && l.startsWith(`${name}_`));
    // Each label set's buckets, sum and count come in turn: the same name comes back as a new family.
    const series = new Map<string, ParsedSample[]>();
    for (const f of parsePrometheusTextFormat(lines.join('\n') + '\n')) series.set(f.name, [...(series.get(f.name) ?? []), ...f.metrics]);
    const matching = (suffix: string) =>
      (series.get(`${name}_${suffix}`) ?? []).filter((m) => {
        const { le: _le, ...rest } = m.labels ?? {};
        return Object.keys(rest).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => rest[k] === v);
      });
    const one = (suffix: string) => Number(matching(suffix)[0]?.value ?? 0);
    return { count: one('count'), sum: one('sum'), buckets: new Map(matching('bucket').map((m) => [m.labels!.le!, Number(m.value)])) };
  }

  /** Every label value of every sample, with its metric and label name. */
  *labelValues(): Generator<{ metric: string; label: string; value: string }> {
    for (const f of this.families.values()) {
      for (const m of f.metrics) for (const [label, value] of Object.entries(m.labels ?? {})) yield { metric: f.name, label, value };
    }
  }
}

export async function scrape(url: string, token: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  if (!/^text\/plain; version=0\.0\.4/.test(res.headers.get('content-type') ?? '')) throw new Error(`content-type ${res.headers.get('content-type')}`);
  return new Scrape(await res.text());
}
