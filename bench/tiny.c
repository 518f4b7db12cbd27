/* The smallest child there is: a static binary that exits 0 (spawn cost, not program cost). */
int main(void) { return 0; }
