import type { Draw } from "./draw.js";

/** Someone a problem is about, with the pronouns its sentences need. */
export interface Person {
  readonly name: string;
  readonly he: string;
  readonly him: string;
  readonly his: string;
}

const SHE = { he: "she", him: "her", his: "her" };
const HE = { he: "he", him: "him", his: "his" };

// Names from many places, so the data does not teach that word problems happen to one kind of person.
const WOMEN = [
  "Ava",
  "Maria",
  "Aisha",
  "Mei",
  "Sofia",
  "Priya",
  "Fatima",
  "Olga",
  "Chloe",
  "Amara",
  "Lucia",
  "Hana",
  "Zoe",
  "Ingrid",
  "Nadia",
  "Grace",
  "Yuki",
  "Leila",
  "Emma",
  "Rosa",
];
const MEN = [
  "Liam",
  "Omar",
  "Kenji",
  "Mateo",
  "Arjun",
  "Tom",
  "Kwame",
  "Ivan",
  "Noah",
  "Diego",
  "Hassan",
  "Felix",
  "Ravi",
  "Jonas",
  "Samuel",
  "Chen",
  "Pablo",
  "Malik",
  "Oscar",
  "Leo",
];

export const PEOPLE: readonly Person[] = [
  ...WOMEN.map((name) => ({ name, ...SHE })),
  ...MEN.map((name) => ({ name, ...HE })),
];

/** Two different people: the problem's subject and a friend some templates mention. */
export function drawPeople(d: Draw): [Person, Person] {
  const a = d.pick(PEOPLE);
  let b = d.pick(PEOPLE);
  while (b.name === a.name) b = d.pick(PEOPLE);
  return [a, b];
}

/** "she" → "She": pronouns that open a sentence. */
export function capital(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
