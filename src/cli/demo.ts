export async function runDemo(rules: string, dir: string, state: 'memory' | 'dynalite'): Promise<void> {
  void rules; void dir; void state;
}
