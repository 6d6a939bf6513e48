// TypeScript declarations for splitbeam's browser API (`window.splitbeam`), set up by splitbeam.js.

export interface SplitbeamExposure {
  type: 'exposure';
  experiment: string;
  variant: string;
  visitor: string;
  url: string;
  /** Milliseconds since the Unix epoch. */
  ts: number;
}

export interface SplitbeamGoalEvent {
  type: 'goal';
  goal: string;
  value?: number;
  props?: Record<string, unknown>;
  visitor: string;
  url: string;
  ts: number;
  /** experiment key → variant key, for the experiments exposed on this page. */
  experiments: Record<string, string>;
}

export type SplitbeamEvent = SplitbeamExposure | SplitbeamGoalEvent;

export type SplitbeamCommand =
  | ['track', string, Record<string, unknown>?]
  | ['attributes', Record<string, unknown>]
  | ['consent', boolean]
  | ['on', 'exposure', (exposure: SplitbeamExposure) => void]
  | ['flush'];

export interface Splitbeam {
  /** Records a goal (e.g. `track('purchase', { value: 49.9, currency: 'EUR' })`). */
  track(goal: string, props?: Record<string, unknown>): void;
  /** The variant key shown on this page for `experiment`, or null (not in it, or not ready yet). */
  variant(experiment: string): string | null;
  /** Adds targeting attributes and re-decides the experiments. */
  attributes(attributes: Record<string, unknown>): void;
  /** With `data-consent="required"`, nothing is stored until `consent(true)`; `consent(false)` erases. */
  consent(granted: boolean): void;
  /** Called for each exposure, including those that happened before subscribing. */
  on(event: 'exposure', callback: (exposure: SplitbeamExposure) => void): void;
  /** Sends the events waiting for delivery now (fetch with keepalive). */
  flush(): void;
  /** The command-queue form of the calls above. */
  push(command: SplitbeamCommand): void;
}

declare global {
  interface Window {
    /** Before splitbeam.js ran: an array used as a command queue. */
    splitbeam: Splitbeam | SplitbeamCommand[];
    dataLayer?: unknown[];
  }
}
