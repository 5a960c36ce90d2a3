// Level 3: three steps mixing sums with carries, products, remainders, percentages and unit rates.
import { countOf } from "../../../formatCount.js";
import { constant, defineTemplate, given, step, type Template } from "../template.js";
import { PERCENTS, wholePercentBase } from "./common.js";

export const LEVEL3: readonly Template[] = [
  defineTemplate({
    name: "shopping.two_kinds",
    level: 3,
    sample: (d) => ({
      pens: d.int(2, 9),
      penPrice: d.int(2, 15),
      books: d.int(2, 6),
      bookPrice: d.int(8, 45),
    }),
    steps: [
      { op: "*", a: given("pens"), b: given("penPrice"), say: (eq) => `The pens cost ${eq} dollars.` },
      { op: "*", a: given("books"), b: given("bookPrice"), say: (eq) => `The books cost ${eq} dollars.` },
      { op: "+", a: step(0), b: step(1), say: (eq) => `Altogether that is ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name} buys ${v.n.pens} pens at $${v.n.penPrice} each and ${v.n.books} books at $${v.n.bookPrice} each.`,
        `How much does ${v.who.name} spend?`,
      ],
      (v) => [
        `Pens are $${v.n.penPrice} and books are $${v.n.bookPrice} at the school shop. ${v.who.name} gets ${v.n.books} books and ${v.n.pens} pens.`,
        `What is ${v.who.name}'s bill?`,
      ],
      (v) => [
        `${v.who.name} paid for ${v.n.books} books priced at $${v.n.bookPrice} apiece, plus ${v.n.pens} pens priced at $${v.n.penPrice} apiece.`,
        `How many dollars did ${v.who.name} pay in total?`,
      ],
    ],
  }),
  defineTemplate({
    name: "travel.same_speed",
    level: 3,
    sample: (d) => {
      const hours = d.int(2, 5);
      const speed = d.multiple(5, 40, 100);
      return { hours, first: hours * speed, more: d.int(2, 4) };
    },
    steps: [
      {
        op: "/",
        a: given("first"),
        b: given("hours"),
        say: (eq) => `The train's speed is ${eq} km per hour.`,
      },
      { op: "*", a: step(0), b: given("more"), say: (eq) => `In the extra hours it goes ${eq} km.` },
      { op: "+", a: given("first"), b: step(1), say: (eq) => `The whole journey is ${eq} km.` },
    ],
    wordings: [
      (v) => [
        `A train travels ${v.n.first} km in ${v.n.hours} hours. It keeps the same speed for ${v.n.more} more hours.`,
        `How far does the train travel in all?`,
      ],
      (v) => [
        `${v.who.name}'s train covered ${v.n.first} kilometres in its first ${v.n.hours} hours, then ran ${v.n.more} hours longer at the same speed.`,
        `What was the total distance of ${v.who.name}'s journey?`,
      ],
      (v) => [
        `Moving at a constant speed, a train needs ${v.n.hours} hours for ${v.n.first} kilometres and then continues for another ${v.n.more} hours.`,
        `How many kilometres does it cover altogether?`,
      ],
    ],
  }),
  defineTemplate({
    name: "shopping.sale_several",
    level: 3,
    sample: (d) => {
      const percent = d.pick(PERCENTS);
      return { percent, price: wholePercentBase(d, percent, 20, 300), count: d.int(2, 6) };
    },
    steps: [
      {
        op: "%",
        a: given("percent"),
        b: given("price"),
        say: (eq) => `Each chair is ${eq} dollars cheaper.`,
      },
      { op: "-", a: given("price"), b: step(0), say: (eq) => `Each chair costs ${eq} dollars in the sale.` },
      { op: "*", a: step(1), b: given("count"), say: (eq) => `The chairs cost ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `Chairs usually cost $${v.n.price} each, but today they are ${v.n.percent}% off. ${v.who.name} buys ${v.n.count} chairs.`,
        `How much does ${v.who.name} pay?`,
      ],
      (v) => [
        `${v.who.name} buys ${v.n.count} chairs in a ${v.n.percent}% off sale. Their normal price is $${v.n.price} each.`,
        `What does ${v.who.name} spend on chairs?`,
      ],
      (v) => [
        `A shop takes ${v.n.percent}% off its $${v.n.price} chairs, and ${v.who.name} orders ${v.n.count} of them.`,
        `How many dollars is ${v.who.name}'s order?`,
      ],
    ],
  }),
  defineTemplate({
    name: "farm.egg_cartons",
    level: 3,
    sample: (d) => ({ hens: d.int(3, 20), perHen: d.int(3, 6), weeks: d.int(2, 4) }),
    steps: [
      { op: "*", a: given("hens"), b: given("perHen"), say: (eq) => `The hens lay ${eq} eggs a week.` },
      { op: "*", a: step(0), b: given("weeks"), say: (eq) => `In those weeks they lay ${eq} eggs.` },
      {
        op: "/",
        a: step(1),
        b: constant(12),
        withRemainder: true,
        say: (eq, v) =>
          `Packing by the dozen gives ${eq}, so ${countOf(v.s(2), "carton is", "cartons are")} full.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} has ${v.n.hens} hens, and each lays ${v.n.perHen} eggs a week. After ${v.n.weeks} weeks ${v.who.name} packs the eggs into cartons of a dozen.`,
        `How many full cartons does ${v.who.name} get?`,
      ],
      (v) => [
        `On ${v.who.name}'s farm, ${v.n.hens} hens each lay ${v.n.perHen} eggs every week. The eggs from ${v.n.weeks} weeks go into cartons that hold 12.`,
        `How many cartons can be filled?`,
      ],
      (v) => [
        `Eggs are sold in cartons of 12. ${v.who.name} collects the eggs of ${v.n.hens} hens for ${v.n.weeks} weeks, at ${v.n.perHen} eggs per hen per week.`,
        `How many full cartons does ${v.who.name} have to sell?`,
      ],
    ],
  }),
  defineTemplate({
    name: "school.books_shared",
    level: 3,
    sample: (d) => {
      const count = d.int(2, 9);
      const price = d.int(5, 30);
      const kids = d.int(2, 8);
      return { count, price, kids, budget: count * price + kids * d.int(2, 20) };
    },
    steps: [
      { op: "*", a: given("count"), b: given("price"), say: (eq) => `The books cost ${eq} dollars.` },
      { op: "-", a: given("budget"), b: step(0), say: (eq) => `That leaves ${eq} dollars.` },
      { op: "/", a: step(1), b: given("kids"), say: (eq) => `Each child gets ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `A club has $${v.n.budget}. It buys ${v.n.count} books at $${v.n.price} each and shares the rest of the money equally among ${v.n.kids} children.`,
        `How much does each child get?`,
      ],
      (v) => [
        `${v.who.name} spends part of a $${v.n.budget} budget on ${v.n.count} books costing $${v.n.price} each, then splits what is left evenly between ${v.n.kids} children.`,
        `How many dollars does each child receive?`,
      ],
      (v) => [
        `After buying ${v.n.count} books at $${v.n.price} apiece out of $${v.n.budget}, a teacher divides the remaining money fairly among ${v.n.kids} pupils.`,
        `What is each pupil's share?`,
      ],
    ],
  }),
  defineTemplate({
    name: "garden.fence_cost",
    level: 3,
    sample: (d) => ({ length: d.int(5, 40), width: d.int(3, 30), price: d.int(2, 15) }),
    steps: [
      {
        op: "+",
        a: given("length"),
        b: given("width"),
        say: (eq) => `One length and one width make ${eq} metres.`,
      },
      { op: "*", a: step(0), b: constant(2), say: (eq) => `The fence is ${eq} metres long.` },
      { op: "*", a: step(1), b: given("price"), say: (eq) => `The fence costs ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name}'s garden is a rectangle ${v.n.length} metres long and ${v.n.width} metres wide. Fencing costs $${v.n.price} per metre.`,
        `How much does it cost to fence the whole garden?`,
      ],
      (v) => [
        `A fence is put all the way around a rectangular field of ${v.n.length} m by ${v.n.width} m, at $${v.n.price} a metre.`,
        `What does the fence cost?`,
      ],
      (v) => [
        `At $${v.n.price} for each metre, ${v.who.name} wants to fence the edge of a ${v.n.length} metre by ${v.n.width} metre rectangular yard.`,
        `How many dollars will ${v.who.name} spend on fencing?`,
      ],
    ],
  }),
  defineTemplate({
    name: "work.wages_spent",
    level: 3,
    sample: (d) => {
      const rate = d.int(8, 25);
      const hours = d.int(2, 8);
      const days = d.int(2, 6);
      return { rate, hours, days, spent: d.int(10, rate * hours * days - 1) };
    },
    steps: [
      {
        op: "*",
        a: given("rate"),
        b: given("hours"),
        say: (eq, v) => `${v.who.name} earns ${eq} dollars a day.`,
      },
      { op: "*", a: step(0), b: given("days"), say: (eq) => `Over the days that is ${eq} dollars.` },
      { op: "-", a: step(1), b: given("spent"), say: (eq, v) => `${v.who.name} has ${eq} dollars left.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name} earns $${v.n.rate} an hour and works ${v.n.hours} hours a day for ${v.n.days} days. ${v.who.name} then spends $${v.n.spent}.`,
        `How much of the pay does ${v.who.name} have left?`,
      ],
      (v) => [
        `At a summer job paying $${v.n.rate} per hour, ${v.who.name} works ${v.n.days} days of ${v.n.hours} hours each and spends $${v.n.spent} of the money.`,
        `How many dollars does ${v.who.name} keep?`,
      ],
      (v) => [
        `${v.who.name} spent $${v.n.spent} from ${v.who.his} wages, which came from ${v.n.days} days of work, ${v.n.hours} hours a day at $${v.n.rate} an hour.`,
        `What is left of ${v.who.name}'s wages?`,
      ],
    ],
  }),
  defineTemplate({
    name: "travel.fuel_cost",
    level: 3,
    sample: (d) => {
      const kmPerLitre = d.int(8, 20);
      const litres = d.int(3, 10);
      // The rate (kmPerLitre) is what step 1 finds, so the question gives distance and litres instead.
      return { litres, distance: kmPerLitre * litres, trip: kmPerLitre * d.int(5, 40), price: d.int(2, 4) };
    },
    steps: [
      { op: "/", a: given("distance"), b: given("litres"), say: (eq) => `The car goes ${eq} km on a litre.` },
      { op: "/", a: given("trip"), b: step(0), say: (eq) => `The trip needs ${eq} litres of fuel.` },
      { op: "*", a: step(1), b: given("price"), say: (eq) => `The fuel costs ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name}'s car uses ${v.n.litres} litres of fuel to drive ${v.n.distance} km. Fuel costs $${v.n.price} per litre, and ${v.who.name} plans a ${v.n.trip} km trip.`,
        `How much will the fuel for the trip cost?`,
      ],
      (v) => [
        `A car drives ${v.n.distance} kilometres on ${v.n.litres} litres. ${v.who.name} takes it on a ${v.n.trip} kilometre trip, paying $${v.n.price} for each litre.`,
        `What does ${v.who.name} spend on fuel?`,
      ],
      (v) => [
        `For a ${v.n.trip} km journey ${v.who.name} buys fuel at $${v.n.price} a litre, in a car that needs ${v.n.litres} litres for every ${v.n.distance} km.`,
        `How many dollars does the fuel cost?`,
      ],
    ],
  }),
  defineTemplate({
    name: "party.pizza_left",
    level: 3,
    sample: (d) => {
      const pizzas = d.int(2, 9);
      const slices = d.pick([6, 8, 10, 12]);
      const friends = d.int(2, 12);
      return {
        pizzas,
        slices,
        friends,
        each: d.int(2, Math.max(2, Math.floor((pizzas * slices) / friends))),
      };
    },
    steps: [
      { op: "*", a: given("pizzas"), b: given("slices"), say: (eq) => `There are ${eq} slices.` },
      { op: "*", a: given("friends"), b: given("each"), say: (eq) => `The friends eat ${eq} slices.` },
      { op: "-", a: step(0), b: step(1), say: (eq) => `So ${eq} slices are left.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name} orders ${v.n.pizzas} pizzas, each cut into ${v.n.slices} slices. ${v.n.friends} friends each eat ${v.n.each} slices.`,
        `How many slices are left?`,
      ],
      (v) => [
        `At ${v.who.name}'s party, ${v.n.friends} friends eat ${v.n.each} slices apiece from ${v.n.pizzas} pizzas that have ${v.n.slices} slices each.`,
        `How many slices remain uneaten?`,
      ],
      (v) => [
        `There are ${v.n.pizzas} pizzas with ${v.n.slices} slices in each. After ${v.n.friends} friends have had ${v.n.each} slices each, ${v.who.name} counts what is left.`,
        `How many slices does ${v.who.name} count?`,
      ],
    ],
  }),
  defineTemplate({
    name: "school.walkers_groups",
    level: 3,
    sample: (d) => {
      const percent = d.pick(PERCENTS);
      const groups = d.int(2, 6);
      return { percent, groups, students: wholePercentBase(d, percent, 40, 600) };
    },
    steps: [
      { op: "%", a: given("percent"), b: given("students"), say: (eq) => `${eq} students take the bus.` },
      { op: "-", a: given("students"), b: step(0), say: (eq) => `So ${eq} students walk.` },
      { op: "/", a: step(1), b: given("groups"), say: (eq) => `Each group has ${eq} walkers.` },
    ],
    wordings: [
      (v) => [
        `A school has ${v.n.students} students. ${v.n.percent}% of them take the bus and the rest walk, in ${v.n.groups} equal groups.`,
        `How many students are in each walking group?`,
      ],
      (v) => [
        `Of the ${v.n.students} students at ${v.who.name}'s school, ${v.n.percent}% ride the bus. The others walk to school in ${v.n.groups} groups of the same size.`,
        `How big is each walking group?`,
      ],
      (v) => [
        `The students who do not take the bus walk in ${v.n.groups} equal groups. The school has ${v.n.students} students, and ${v.n.percent}% of them take the bus.`,
        `How many walkers are in one group?`,
      ],
    ],
  }),
];
