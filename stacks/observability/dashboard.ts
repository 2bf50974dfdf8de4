/**
 * A small typed builder for CloudWatch dashboard bodies, and the platform dashboard: a header and
 * a row of graphs per service. Graphs are drawn from the same MetricRefs the alarms use, with each
 * graph's alarm as an alarm annotation, so what pages someone is what the dashboard shows.
 *
 * The annotation names the alarm by ARN; CloudWatch draws the alarm's threshold as it is now. A
 * threshold written into the body would be a second copy, which goes stale (and shows as drift on
 * the next `pulumi up --refresh`) as soon as `ecs-optimizer` retunes the alarm.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ServiceAlarmArns } from "./alarms";
import { combinedExpression, MetricRef, ServiceMetrics, Signal, signalMetrics, Statistic } from "./metrics";

/** The dashboard grid is 24 columns wide. */
export const GRID_WIDTH = 24;

export interface GraphSpec {
  title: string;
  /** Several metrics (one per target group) are drawn each, plus their combined line. */
  metric: Signal;
  stat: Statistic;
  /** Seconds per point. Defaults to 60. */
  period?: number;
  /** The alarm on this graph's metric: CloudWatch draws its current threshold across the graph. */
  alarmArn?: pulumi.Input<string>;
  /** Fixed left-axis range, e.g. 0..100 for a percentage. */
  yAxis?: { min?: number; max?: number };
}

export interface MetricOptions {
  /** Names the series in metric-math expressions of the same graph. */
  id?: string;
  label?: string;
  stat?: Statistic;
}

/** A CloudWatch metric array: namespace, metric name, then dimension name/value pairs, options last. */
export type MetricArray = [string, string, ...(string | MetricOptions)[]];

/** A metric-math line of a graph, over the metrics of the same graph by their ids. */
export interface ExpressionLine {
  expression: string;
  label: string;
  id: string;
}

export function metricArray(m: MetricRef, options?: MetricOptions): MetricArray {
  const dims = Object.entries(m.dimensions).flat();
  return options ? [m.namespace, m.metricName, ...dims, options] : [m.namespace, m.metricName, ...dims];
}

/**
 * A graph's metrics: one metric as it is; several (one per target group) each under its label,
 * then their combination, which is what an alarm on the signal compares with its threshold.
 */
export function graphMetrics(signal: Signal, stat: Statistic): Array<MetricArray | [ExpressionLine]> {
  const metrics = signalMetrics(signal);
  if (metrics.length === 1) return [metricArray(metrics[0])];
  const ids = metrics.map((_, i) => `m${i + 1}`);
  return [
    ...metrics.map((m, i) => metricArray(m, { id: ids[i], ...(m.label ? { label: m.label } : {}) })),
    [{ expression: combinedExpression(stat, ids), label: "All target groups", id: "e1" }],
  ];
}

interface Placement {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Widget =
  | (Placement & { type: "text"; properties: { markdown: string } })
  | (Placement & {
      type: "metric";
      properties: {
        title: string;
        region: string;
        view: "timeSeries";
        stacked: false;
        stat: Statistic;
        period: number;
        metrics: Array<MetricArray | [ExpressionLine]>;
        /** A metric widget takes at most one alarm annotation. */
        annotations?: { alarms: [pulumi.Input<string>] };
        yAxis?: { left: { min?: number; max?: number } };
      };
    });

/** Lays widgets out row by row; each row splits the grid width evenly among its graphs. */
export class DashboardBuilder {
  private readonly widgets: Widget[] = [];
  private y = 0;

  constructor(readonly region: string) {}

  /** A full-width markdown line, e.g. the name of the service whose row follows. */
  header(markdown: string): this {
    this.widgets.push({ type: "text", x: 0, y: this.y, width: GRID_WIDTH, height: 1, properties: { markdown } });
    this.y += 1;
    return this;
  }

  /** One row of graphs. Defaults to 6 units high. */
  row(graphs: GraphSpec[], height = 6): this {
    if (graphs.length === 0 || graphs.length > GRID_WIDTH) throw new Error(`a dashboard row holds 1 to ${GRID_WIDTH} graphs`);
    const base = Math.floor(GRID_WIDTH / graphs.length);
    const extra = GRID_WIDTH % graphs.length;
    let x = 0;
    graphs.forEach((g, i) => {
      const width = base + (i < extra ? 1 : 0);
      this.widgets.push({
        type: "metric",
        x,
        y: this.y,
        width,
        height,
        properties: {
          title: g.title,
          region: this.region,
          view: "timeSeries",
          stacked: false,
          stat: g.stat,
          period: g.period ?? 60,
          metrics: graphMetrics(g.metric, g.stat),
          ...(g.alarmArn !== undefined ? { annotations: { alarms: [g.alarmArn] } } : {}),
          ...(g.yAxis ? { yAxis: { left: g.yAxis } } : {}),
        },
      });
      x += width;
    });
    this.y += height;
    return this;
  }

  toJSON(): { widgets: Widget[] } {
    return { widgets: this.widgets };
  }

  /** The `dashboardBody` string CloudWatch expects, once the alarm ARNs are known. */
  body(): pulumi.Output<string> {
    return pulumi.jsonStringify(this.toJSON());
  }
}

const PERCENT_AXIS = { min: 0, max: 100 };

/** A service's row: CPU, memory and running tasks; requests and 5xx for public services. */
export function serviceGraphs(metrics: ServiceMetrics, alarms: ServiceAlarmArns): GraphSpec[] {
  const graphs: GraphSpec[] = [
    { title: "CPU utilization (%)", metric: metrics.cpu, stat: "Average", alarmArn: alarms.cpuHigh, yAxis: PERCENT_AXIS },
    { title: "Memory utilization (%)", metric: metrics.memory, stat: "Average", alarmArn: alarms.memoryHigh, yAxis: PERCENT_AXIS },
    { title: "Running tasks", metric: metrics.runningTasks, stat: "Average", alarmArn: alarms.runningTasksLow, yAxis: { min: 0 } },
  ];
  if (metrics.requests) graphs.push({ title: "Requests / min", metric: metrics.requests, stat: "Sum", yAxis: { min: 0 } });
  if (metrics.http5xx) {
    graphs.push({ title: "Target 5xx / min", metric: metrics.http5xx, stat: "Sum", alarmArn: alarms.http5xx, yAxis: { min: 0 } });
  }
  return graphs;
}
