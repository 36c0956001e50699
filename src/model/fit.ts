// A list built with push() keeps room for 16 items from its first push: ~130 bytes more than a list of one or two
// needs. The model and the results hold hundreds of thousands of such short lists (a rule's source ranges, a
// security group's rules, a result's reasons), a sixth of the heap of the EC2 20k shape; a copy is exactly long.
export function fit<T>(list: T[]): T[] {
  return list.length < 16 ? list.slice() : list;
}
