/** One line under a screen's or a step's heading: what it is for (as the concept page's configuration steps). */
export function Explain({ children }: { children: string }) {
  return <p className="explain">{children}</p>;
}
