/** The demo's timings list: label / value pairs as a <dl>, each value tagged `data-timing` for the tests. */
export function showTimings(list: HTMLElement, items: [string, string][]): void {
  list.replaceChildren(
    ...items.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      dd.dataset.timing = k;
      return [dt, dd];
    }),
  );
}
